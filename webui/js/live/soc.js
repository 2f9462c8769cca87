/**
 * Settings → SOC integrations (SPEC S12, S14) of the Live client.
 *
 * SOC integrations are the admin's: the section is drawn only for the admin role, and the API
 * (/api/cloud/orgs/{org}/soc-integrations, ORG_ADMIN) refuses everyone else anyway. "+ New SOC
 * integration" takes the SOC's URL, the events to send (a new live stream always; acknowledged
 * and ended are opt-in lab extras) and "Sign messages". A signing secret the appliance generates
 * is in the answer that created it only, so it is shown once, in the page (no pop-up, S9), with
 * a copy button. Each integration can be switched on and off, edited (URL, name, events,
 * signing), given a new signing secret (a second click confirms; the new secret is shown once),
 * deleted (a second click confirms) and its delivery log read; an open log refreshes itself while
 * it stays on the page.
 */

import { api } from '../api.js';
import { copyText, dateTime, field, h, message, onSubmit, put, showError } from '../dom.js';

const LOG_REFRESH_MS = 2000;
const EXTRA_EVENTS = [
  ['stream.acknowledged', 'Stream acknowledged'],
  ['stream.ended', 'Stream ended'],
];
const EVENT_NAMES = { 'stream.started': 'New live stream', 'stream.acknowledged': 'Stream acknowledged', 'stream.ended': 'Stream ended' };

/** The fields an integration is made and edited with; `i`: the integration being edited. */
function integrationFields(i = null) {
  return [
    field('SOC URL', h('input', { type: 'url', name: 'url', required: true, value: i ? i.url : undefined,
      placeholder: 'https://soc.example/notifications', autocomplete: 'off' })),
    field('Name (optional)', h('input', { name: 'name', maxlength: 120, value: i ? i.name || '' : undefined, autocomplete: 'off' })),
    h('fieldset', {}, h('legend', {}, 'Events'),
      h('p', { class: 'check' }, '✓ New live stream (always sent)'),
      EXTRA_EVENTS.map(([event, text]) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: `event:${event}`, checked: Boolean(i && i.events.includes(event)) }), text))),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'sign_messages', checked: Boolean(i && i.signed) }), 'Sign messages'),
  ];
}

/** The API body of those fields' values. */
function integrationBody(v) {
  const events = EXTRA_EVENTS.map(([event]) => event).filter((event) => v[`event:${event}`]);
  return { url: v.url.trim(), name: v.name.trim(), events, sign_messages: Boolean(v.sign_messages) };
}

/** The SOC integrations card for organization `orgId` (admins only). */
export function socSection(orgId) {
  const base = `/api/cloud/orgs/${orgId}/soc-integrations`;
  const listBox = h('div', { class: 'soc-list' }, message('info', 'Loading…'));
  const secretBox = h('div', { class: 'secret-box', 'aria-live': 'polite' });
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  const openLogs = new Set(); // integration ids whose delivery log is open
  let integrations = [];
  let confirming = null; // the integration id whose Delete waits for its confirmation
  let editing = null; // the integration id whose edit form is open
  let rotating = null; // the integration id whose "Rotate secret" waits for its confirmation

  const section = h('section', { class: 'card soc', 'aria-labelledby': 'h-soc' },
    h('h2', { id: 'h-soc' }, 'SOC integrations'),
    h('p', { class: 'hint' }, 'A security operations centre (SOC) gets a notification when a new live stream starts (S12). '
      + 'Signed messages follow Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature), '
      + 'so the receiver can check that they come from this organization.'),
    listBox, secretBox, newIntegrationForm(), out);

  async function load() {
    try {
      integrations = (await api(base)).integrations;
      render();
    } catch (err) {
      showError(listBox, err);
    }
  }

  function render() {
    if (!integrations.length) {
      put(listBox, h('p', { class: 'empty' }, 'No SOC integration yet.'));
      return;
    }
    put(listBox, h('table', { class: 'soc-table' },
      h('thead', {}, h('tr', {}, ['Name', 'URL', 'Events', 'Signed', 'State', 'Deliveries', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, integrations.map((i) => integrationRows(i)))));
  }

  function label(i) {
    return i.name || i.url;
  }

  function integrationRows(i) {
    const stats = i.outbox || {};
    const logOpen = openLogs.has(i.id);
    const actions = h('div', { class: 'row' },
      h('button', { type: 'button', class: 'small', 'aria-label': `${i.enabled ? 'Disable' : 'Enable'} SOC integration ${label(i)}`,
        onclick: () => change(i, { enabled: !i.enabled }) }, i.enabled ? 'Disable' : 'Enable'),
      h('button', { type: 'button', class: 'small', 'aria-expanded': String(editing === i.id), 'aria-label': `Edit SOC integration ${label(i)}`,
        onclick: () => { editing = editing === i.id ? null : i.id; rotating = null; render(); } }, 'Edit'),
      h('button', { type: 'button', class: 'small', 'aria-expanded': String(logOpen), 'aria-label': `Delivery log of ${label(i)}`,
        onclick: () => toggleLog(i) }, 'Delivery log'),
      confirming === i.id
        ? [h('button', { type: 'button', class: 'small danger', 'aria-label': `Confirm: delete SOC integration ${label(i)}`, onclick: () => remove(i) }, 'Confirm delete'),
          h('button', { type: 'button', class: 'small', onclick: () => { confirming = null; render(); } }, 'Cancel')]
        : h('button', { type: 'button', class: 'small', 'aria-label': `Delete SOC integration ${label(i)}`,
          onclick: () => { confirming = i.id; render(); } }, 'Delete'));
    const row = h('tr', { class: 'integration', dataset: { integration: i.id, enabled: String(i.enabled) } },
      h('td', {}, i.name || '—'), h('td', { class: 'mono' }, i.url),
      h('td', {}, i.events.map((e) => EVENT_NAMES[e] || e).join(', ')),
      h('td', {}, i.signed ? 'Signed' : 'Not signed'),
      h('td', {}, i.enabled ? 'Enabled' : 'Disabled'),
      h('td', { class: 'outbox' }, `${stats.delivered || 0} delivered · ${stats.pending || 0} pending · ${stats.failed || 0} failed`),
      h('td', {}, actions));
    const rows = [row];
    if (editing === i.id) rows.push(h('tr', { class: 'edit-row' }, h('td', { colspan: 7 }, editForm(i))));
    if (logOpen) {
      const logCell = h('td', { colspan: 7 }, h('div', { class: 'delivery-log', dataset: { integration: i.id } }, message('info', 'Loading the delivery log…')));
      refreshLog(i, logCell.firstChild);
      rows.push(h('tr', { class: 'log-row' }, logCell));
    }
    return rows;
  }

  /** Edit an integration in the page: its URL, name, events and signing; rotate its secret. */
  function editForm(i) {
    const formOut = h('div', { class: 'out', 'aria-live': 'polite' });
    const rotate = !i.signed ? null : rotating === i.id
      ? h('div', { class: 'row' },
        h('span', {}, 'A new secret replaces the old one at once: the SOC receiver must be given the new one.'),
        h('button', { type: 'button', class: 'small danger', 'aria-label': `Confirm: rotate the signing secret of ${label(i)}`,
          onclick: () => rotateSecret(i, formOut) }, 'Confirm rotate'),
        h('button', { type: 'button', class: 'small', onclick: () => { rotating = null; render(); } }, 'Cancel'))
      : h('button', { type: 'button', class: 'small', 'aria-label': `Rotate the signing secret of ${label(i)}`,
        onclick: () => { rotating = i.id; render(); } }, 'Rotate secret');
    const form = h('form', { 'aria-label': `Edit SOC integration ${label(i)}` },
      integrationFields(i),
      h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Save'),
        h('button', { type: 'button', onclick: () => { editing = null; render(); } }, 'Cancel'), rotate),
      formOut);
    return onSubmit(form, formOut, async (v) => {
      const changed = await api(`${base}/${i.id}`, { method: 'PUT', body: integrationBody(v) });
      editing = null;
      put(secretBox);
      if (changed.secret) showSecret(changed);
      put(out, message('ok', `SOC integration ${label(changed)} saved${changed.signed ? ', with signed messages' : ', messages not signed'}.`));
      await load();
    });
  }

  async function rotateSecret(i, formOut) {
    rotating = null;
    try {
      const changed = await api(`${base}/${i.id}`, { method: 'PUT', body: { rotate_secret: true } });
      editing = null;
      showSecret(changed);
      put(out, message('ok', `The signing secret of ${label(changed)} was replaced.`));
      await load();
    } catch (err) {
      showError(formOut, err);
    }
  }

  async function refreshLog(i, box) {
    try {
      const log = await api(`${base}/${i.id}/deliveries?limit=50`);
      if (!box.isConnected) return;
      put(box, h('h3', {}, `Delivery log: ${label(i)}`),
        log.attempts.length ? h('table', { 'aria-label': `Delivery log of ${label(i)}` },
          h('thead', {}, h('tr', {}, ['Time', 'Event', 'Event id', 'Attempt', 'Result', 'Duration'].map((t) => h('th', {}, t)))),
          h('tbody', {}, log.attempts.map((a) => h('tr', { class: `attempt ${a.ok ? 'ok' : 'failed'}`, dataset: { ok: String(a.ok) } },
            h('td', {}, dateTime(a.at)), h('td', {}, EVENT_NAMES[a.event_type] || a.event_type), h('td', { class: 'mono' }, a.event_id),
            h('td', {}, String(a.attempt)),
            h('td', { class: a.ok ? 'result-ok' : 'reason' }, a.ok ? `Delivered (HTTP ${a.status})`
              : `Failed: ${a.status ? `HTTP ${a.status}` : a.error || 'no answer'}${a.next_attempt_at ? ` · next attempt ${dateTime(a.next_attempt_at)}` : ''}`),
            h('td', {}, `${Math.round(a.duration_ms)} ms`)))))
          : h('p', { class: 'empty' }, 'No delivery yet: notifications are sent when a new live stream starts.'));
      setTimeout(() => { if (box.isConnected && openLogs.has(i.id)) refreshLog(i, box); }, LOG_REFRESH_MS);
    } catch (err) {
      if (box.isConnected) showError(box, err);
    }
  }

  function toggleLog(i) {
    if (openLogs.has(i.id)) openLogs.delete(i.id);
    else openLogs.add(i.id);
    load();
  }

  async function change(i, body) {
    put(out);
    try {
      await api(`${base}/${i.id}`, { method: 'PUT', body });
      put(out, message('ok', `SOC integration ${label(i)} ${body.enabled ? 'enabled' : 'disabled'}.`));
      await load();
    } catch (err) {
      showError(out, err);
    }
  }

  async function remove(i) {
    confirming = null;
    put(out);
    try {
      await api(`${base}/${i.id}`, { method: 'DELETE' });
      openLogs.delete(i.id);
      put(out, message('ok', `SOC integration ${label(i)} deleted.`));
      await load();
    } catch (err) {
      showError(out, err);
    }
  }

  function showSecret(created) {
    const box = h('input', { readonly: true, value: created.secret, class: 'mono secret', 'aria-label': 'Signing secret' });
    const copied = h('span', { class: 'hint', 'aria-live': 'polite' });
    put(secretBox, h('div', { class: 'msg msg-info secret-once', role: 'status', dataset: { code: 'secret_shown_once' } },
      h('p', {}, h('strong', {}, `Signing secret of ${label(created)}`), ': copy it into the SOC receiver now. It is shown only once.'),
      h('div', { class: 'row' }, box,
        h('button', { type: 'button', onclick: async () => {
          copied.textContent = (await copyText(created.secret, box)) ? 'Copied.' : 'Selected: press Ctrl+C to copy it.';
        } }, 'Copy secret'),
        h('button', { type: 'button', onclick: () => put(secretBox) }, 'Done'), copied)));
  }

  function newIntegrationForm() {
    const formOut = h('div', { class: 'out', 'aria-live': 'polite' });
    const form = h('form', { 'aria-label': 'New SOC integration' },
      h('h3', {}, '+ New SOC integration'),
      integrationFields(),
      field('Signing secret (optional; empty: one is generated)', h('input', { name: 'secret', autocomplete: 'off', placeholder: 'whsec_…' })),
      h('button', { type: 'submit', class: 'primary' }, 'Add'), formOut);
    return onSubmit(form, formOut, async (v) => {
      const secret = v.secret.trim();
      const body = integrationBody(v);
      if (secret) Object.assign(body, { secret, sign_messages: true });
      const created = await api(base, { method: 'POST', body });
      form.reset();
      put(secretBox);
      if (created.secret) showSecret(created);
      put(formOut, message('ok', `SOC integration ${label(created)} added${created.signed ? ', with signed messages' : ''}.`));
      await load();
    });
  }

  load();
  return section;
}
