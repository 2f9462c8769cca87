/**
 * Streams → Camera health (issue 16 item 5, SPEC O5) of the Live client: per camera user, the
 * battery (charging in the dock or minutes left), storage, signal, temperature and the last
 * contact, from each camera's last report (bwlab/wire/health.py), with the warnings the appliance
 * draws from it before a camera runs out (drawn by webui/js/health.js, as on the Lab panel).
 * Redrawn from the camera-users list Live polls anyway.
 */

import { h, put } from '../dom.js';
import { HEALTH_LABELS, healthCells, healthWarnings, warningCodes } from '../health.js';

function row(user) {
  const r = user.health;
  if (!r) {
    return h('tr', { dataset: { user: user.id } }, h('th', { scope: 'row' }, user.name),
      h('td', { colspan: '5', class: 'empty' }, 'No report from this camera yet.'));
  }
  return h('tr', { dataset: { user: user.id, serial: user.serial || '', warnings: warningCodes(r) } },
    h('th', { scope: 'row' }, user.name, h('small', {}, ` ${user.serial || ''}`), healthWarnings(r)),
    healthCells(r, user).map((cell) => h('td', { class: cell.warn ? 'warn' : '', dataset: cell.dataset }, cell.content)));
}

const SHORT = {
  battery_low: 'battery low', battery_empty: 'battery empty', storage_low: 'storage low', storage_full: 'storage full',
  temperature_high: 'hot', signal_weak: 'weak signal',
};

/** A camera user's warnings in a word each, for the camera users list (null: none). */
export function healthBadge(user) {
  const list = (user.health && user.health.warnings) || [];
  if (!list.length) return null;
  return h('small', { class: 'health-badge', dataset: { warnings: list.map((w) => w.code).join(' ') },
    title: list.map((w) => w.message).join('\n') }, ` · ${list.map((w) => SHORT[w.code] || w.code).join(', ')}`);
}

/** The card; `.update(users)` redraws it from Live's camera users. */
export function healthSection() {
  const body = h('tbody', {});
  const el = h('section', { class: 'card health', 'aria-labelledby': 'h-health' },
    h('h2', { id: 'h-health' }, 'Camera health'),
    h('p', { class: 'hint' }, 'Each camera\'s last report: battery, storage, signal, temperature and when it was last heard from. '
      + 'Warnings come before a camera runs out.'),
    h('table', { class: 'health-table' },
      h('thead', {}, h('tr', {}, ['Camera user', ...HEALTH_LABELS].map((t) => h('th', {}, t)))),
      body));
  el.update = (users) => put(body, users.map(row));
  return el;
}
