/**
 * Settings → Licence of the Live client (SPEC S15, S3, T2 row 2b).
 *
 * Everyone sees where the organization stands — 30-day trial, purchased or expired, until when it
 * is covered, the licences held now next to the licences needed by the manual's rule (cameras
 * of camera users whose profile streams, per day, averaged over the last seven days) — and the
 * list of licences. An organization admin also orders licences (a quantity for a term of 1, 12,
 * 24 or 36 months, from now) and renews a subscription (it continues from its end); the API
 * (ORG_ADMIN) refuses everyone else anyway. Cameras learn of a purchase at once.
 */

import { api } from '../api.js';
import { dateTime, field, h, message, onSubmit, put, showError } from '../dom.js';

const TERMS = [[1, '1 month'], [12, '12 months'], [24, '24 months'], [36, '36 months']];
const STATE_TEXT = {
  trial: 'A valid licence covers this organization: the 30-day trial',
  purchased: 'A valid licence covers this organization: purchased licences',
  expired: 'The licence has expired: cameras do not react to a start (T2). Order licences to stream again.',
  none: 'No licence yet: connecting a system starts a 30-day trial (S3).',
};

function termSelect(name = 'term_months') {
  return h('select', { name }, TERMS.map(([v, t]) => h('option', { value: String(v), selected: v === 12 }, t)));
}

/** The Licence section's content; ``admin``: the signed-in member may order and renew. */
export function licenceSection(orgId, admin) {
  const box = h('div', { class: 'licence' }, h('p', { class: 'msg msg-info', role: 'status' }, 'Loading…'));
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  const base = `/api/cloud/orgs/${orgId}`;
  const load = async () => {
    try {
      put(box, render(await api(`${base}/licence`)));
    } catch (err) {
      showError(box, err);
    }
  };
  const done = async (result, what) => {
    const until = result.covered_until ? `, covered until ${dateTime(result.covered_until)}` : '';
    put(out, message('ok', `${what} ${result.quantity} licence${result.quantity === 1 ? '' : 's'} held now${until}. Cameras learn it at once.`, 'licence_ordered'));
    await load();
  };
  const render = (lic) => {
    const valid = lic.valid;
    const until = lic.covered_until ? ` until ${dateTime(lic.covered_until)}` : '';
    const ended = !valid && lic.ended_at ? ` (since ${dateTime(lic.ended_at)})` : '';
    const subs = lic.licences.filter((l) => l.kind === 'subscription');
    return [
      message(valid ? 'ok' : 'error', valid ? `${STATE_TEXT[lic.state]}${until}.` : `${STATE_TEXT[lic.state]}${ended}`,
        `licence_${lic.state}`),
      h('dl', { class: 'licence-usage' },
        h('dt', {}, 'Licences held'), h('dd', { class: 'licences-held', dataset: { held: String(lic.quantity) } },
          lic.state === 'trial' ? 'trial (no count)' : String(lic.quantity)),
        h('dt', {}, 'Licences needed'), h('dd', { class: 'licences-needed', dataset: { needed: String(lic.needed) } }, String(lic.needed)),
        h('dt', {}, 'Rolling average'), h('dd', {}, `${Number(lic.average).toFixed(2)} cameras a day over the last ${lic.window_days} day${lic.window_days === 1 ? '' : 's'}`)),
      h('p', { class: 'hint' }, 'Licences needed: cameras assigned to camera users whose profile streams, counted per 24-hour day and '
        + 'averaged over the last seven days, rounded up (S15). The model is the same for fixed and self-assigned cameras.'),
      lic.licences.length ? h('table', { 'aria-label': 'Licences' },
        h('thead', {}, h('tr', {}, ['Kind', 'Quantity', 'Term', 'From', 'Until', ''].map((t) => h('th', {}, t)))),
        h('tbody', {}, lic.licences.map((l) => h('tr', { dataset: { licence: l.id } },
          h('td', {}, l.kind === 'trial' ? '30-day trial' : l.renews ? 'renewal' : 'subscription'),
          h('td', {}, l.quantity == null ? '—' : String(l.quantity)),
          h('td', {}, l.term_months ? `${l.term_months} month${l.term_months === 1 ? '' : 's'}` : '30 days'),
          h('td', {}, dateTime(l.starts_at)), h('td', {}, dateTime(l.ends_at)),
          h('td', {}, admin && l.kind === 'subscription' && l === subs[subs.length - 1] ? renewForm(l) : null))))) : null,
      admin ? orderForm() : h('p', { class: 'hint' }, 'Only an organization admin orders and renews licences (S14).'),
      out,
      days(lic),
    ];
  };
  const renewForm = (l) => onSubmit(h('form', { class: 'row renew', 'aria-label': `Renew licence ${l.id}` },
    field('Renewal term', termSelect()),
    field('Quantity', h('input', { type: 'number', name: 'quantity', min: 1, max: 10000, value: String(l.quantity), required: true })),
    h('button', { type: 'submit' }, 'Renew')), out, async (v) => {
    done(await api(`${base}/licences/${l.id}/renewal`, { method: 'POST', body: { term_months: Number(v.term_months), quantity: Number(v.quantity) } }),
      'Renewed:');
  });
  const orderForm = () => onSubmit(h('form', { class: 'row order', 'aria-label': 'Order licences' },
    field('Quantity', h('input', { type: 'number', name: 'quantity', min: 1, max: 10000, value: '1', required: true })),
    field('Term', termSelect()),
    h('button', { type: 'submit', class: 'primary' }, 'Order licences')), out, async (v) => {
    done(await api(`${base}/licences`, { method: 'POST', body: { quantity: Number(v.quantity), term_months: Number(v.term_months) } }),
      'Ordered:');
  });
  load();
  return box;
}

function days(lic) {
  const list = lic.daily || [];
  return list.length ? h('table', { class: 'licence-daily', 'aria-label': 'Cameras per day' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Day (UTC)'), h('th', {}, 'Cameras'))),
    h('tbody', {}, list.map((d) => h('tr', { dataset: { date: d.date } }, h('td', {}, d.date), h('td', {}, String(d.cameras)))))) : null;
}
