/**
 * Settings → Audit trail (issue 16 item 4, SPEC O4; docs/audit.md) and "who is watching" of the
 * Live client.
 *
 * The audit trail is the admin's: the section is drawn only for the admin role, and the API
 * (/api/cloud/orgs/{org}/audit, ORG_ADMIN) refuses everyone else anyway. Filters: who (name or
 * e-mail), what (an action), which camera (camera user or serial), and a time range (lab time, as
 * every time in Live). The chain's head (its last entry's hash) is shown so an export can be
 * checked against it (`bwlab audit verify FILE --head HASH`). The exports are plain downloads of
 * the same filters as JSON Lines or CSV; without filters they are the whole chain.
 */

import { api } from '../api.js';
import { dateTime, field, h, message, onSubmit, put, showError, time } from '../dom.js';

export const ACTION_NAMES = {
  stream_viewed: 'Viewed a stream',
  recording_downloaded: 'Downloaded a recording',
  acknowledged: 'Acknowledged',
  remote_started: 'Started a stream remotely',
  talked: 'Talked',
  key_imported: 'Imported a key',
  setting_changed: 'Changed a setting',
  user_invited: 'Invited a user',
};

/** The query string of the filter form's values (empty ones left out; times as lab seconds). */
function query(v) {
  const q = new URLSearchParams();
  if (v.actor && v.actor.trim()) q.set('actor', v.actor.trim());
  if (v.action) q.set('action', v.action);
  if (v.camera && v.camera.trim()) q.set('camera', v.camera.trim());
  for (const name of ['from', 'to']) {
    if (v[name]) q.set(name, String(new Date(v[name]).getTime() / 1000));
  }
  return q;
}

/** What an entry's details say, in a line. */
function describe(e) {
  const d = e.details || {};
  if (d.from !== undefined && d.to !== undefined) return `${time(d.from)} → ${time(d.to)}`;
  return Object.entries(d).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k}: ${v}`).join(', ');
}

/** The audit trail card for organization `orgId` (admins only). */
export function auditSection(orgId) {
  const base = `/api/cloud/orgs/${orgId}/audit`;
  const table = h('div', { class: 'audit-list' }, message('info', 'Loading…'));
  const summary = h('p', { class: 'hint audit-head', 'aria-live': 'polite' });
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  const jsonl = h('a', { class: 'button small', href: `${base}/export?format=jsonl`, download: 'audit.jsonl' }, 'Export JSON Lines');
  const csv = h('a', { class: 'button small', href: `${base}/export?format=csv`, download: 'audit.csv' }, 'Export CSV');
  const form = h('form', { class: 'audit-filters row', 'aria-label': 'Filter the audit trail' },
    field('Who', h('input', { name: 'actor', placeholder: 'name or e-mail', autocomplete: 'off' })),
    field('Action', h('select', { name: 'action' }, h('option', { value: '' }, 'Any'),
      Object.entries(ACTION_NAMES).map(([value, text]) => h('option', { value }, text)))),
    field('Camera', h('input', { name: 'camera', placeholder: 'camera user or serial', autocomplete: 'off' })),
    field('From', h('input', { type: 'datetime-local', name: 'from', step: 1 })),
    field('To', h('input', { type: 'datetime-local', name: 'to', step: 1 })),
    h('button', { type: 'submit' }, 'Filter'));

  const load = async (v = {}) => {
    const q = query(v);
    const log = await api(`${base}${q.size ? `?${q}` : ''}`);
    jsonl.href = `${base}/export?${new URLSearchParams([...q, ['format', 'jsonl']])}`;
    csv.href = `${base}/export?${new URLSearchParams([...q, ['format', 'csv']])}`;
    put(summary, log.head ? [`${log.matched} of ${log.head.seq} entries match. Head of the chain: `,
      h('code', { class: 'mono', dataset: { head: log.head.hash } }, log.head.hash),
      q.size ? ' — a filtered export is a selection, not the chain: export without filters to verify it.' : '']
      : 'No entries yet.');
    put(table, log.entries.length ? h('table', { class: 'audit' },
      h('thead', {}, h('tr', {}, ['#', 'Time', 'Who', 'Action', 'Camera', 'Details'].map((t) => h('th', {}, t)))),
      h('tbody', {}, log.entries.map((e) => h('tr', { dataset: { action: e.action, seq: e.seq } },
        h('td', {}, e.seq), h('td', {}, dateTime(e.at)),
        h('td', {}, e.actor.name || e.actor.email, h('small', {}, ` ${e.actor.role || ''}`)),
        h('td', {}, ACTION_NAMES[e.action] || e.action),
        h('td', {}, e.camera ? (e.camera.user_name || e.camera.serial) : '—'),
        h('td', { class: 'details' }, describe(e)))))) : message('info', 'No entries match.', 'audit_empty'));
  };
  onSubmit(form, out, (v) => load(v));
  load().catch((err) => showError(out, err));
  return h('section', { class: 'card audit', 'aria-labelledby': 'h-audit' },
    h('h2', { id: 'h-audit' }, 'Audit trail'),
    h('p', { class: 'hint' }, 'Every operator and admin action: who viewed which stream and when, acknowledged, started a stream, '
      + 'downloaded a recording, imported a key, changed a setting or invited a user. Each entry carries the hash of the one '
      + 'before, so a changed, removed or reordered entry shows (bwlab audit verify).'),
    form, out, h('div', { class: 'row' }, jsonl, csv), summary, table);
}

/** "Who is watching": the names of those watching stream `streamId`, from `watching` (the API's map). */
export function watchers(watching, streamId, me = null) {
  const list = (watching && watching[streamId]) || [];
  if (!list.length) return null;
  const names = list.map((w) => (me && w.account_id === me ? `${w.name} (you)` : w.name));
  return h('small', { class: 'watching', dataset: { watchers: String(list.length) }, title: 'Who is watching this stream now' },
    ` · watching: ${names.join(', ')}`);
}
