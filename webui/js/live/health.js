/**
 * Streams → Camera health (issue 16 item 5, SPEC O5) of the Live client: per camera user, the
 * battery (charging in the dock or minutes left), storage, signal, temperature and the last
 * contact, from each camera's last report (bwlab/wire/health.py), with the warnings the appliance
 * draws from it before a camera runs out. Redrawn from the camera-users list Live polls anyway.
 */

import { h, put, time } from '../dom.js';

function gigabytes(bytes) {
  return `${(bytes / 1e9).toFixed(bytes < 1e10 ? 2 : 1)} GB`;
}

function minutesOfRecording(minutes) {
  if (minutes === null || minutes === undefined) return '';
  return minutes > 24 * 60 ? ' · more than 24 h of recording left' : ` · ${Math.round(minutes)} min of recording left`;
}

function meter(label, percent, kind) {
  return h('span', { class: `meter meter-${kind}`, role: 'meter', 'aria-label': label, 'aria-valuemin': '0',
    'aria-valuemax': '100', 'aria-valuenow': String(Math.round(percent)) },
  h('span', { class: 'meter-fill', style: `width: ${Math.max(0, Math.min(100, percent)).toFixed(0)}%` }));
}

function row(user) {
  const r = user.health;
  if (!r) {
    return h('tr', { dataset: { user: user.id } }, h('th', { scope: 'row' }, user.name),
      h('td', { colspan: '5', class: 'empty' }, 'No report from this camera yet.'));
  }
  const usedPercent = (100 * r.storage_used) / r.storage_capacity;
  const warned = new Set(r.warnings.map((w) => w.code));
  return h('tr', { dataset: { user: user.id, serial: user.serial || '', warnings: [...warned].join(' ') } },
    h('th', { scope: 'row' }, user.name, h('small', {}, ` ${user.serial || ''}`),
      r.warnings.map((w) => h('p', { class: 'msg msg-warn health-warning', role: 'status', dataset: { code: w.code } }, w.message))),
    h('td', { class: warned.has('battery_low') || warned.has('battery_empty') ? 'warn' : '', dataset: { battery: r.battery_percent } },
      meter(`Battery of ${user.name}`, r.battery_percent, 'battery'), ` ${r.battery_percent.toFixed(0)} %`,
      h('small', {}, r.charging ? ' charging in the dock' : r.battery_minutes_left !== null ? ` · ${Math.round(r.battery_minutes_left)} min left` : '')),
    h('td', { class: warned.has('storage_low') || warned.has('storage_full') ? 'warn' : '' },
      meter(`Storage of ${user.name}`, usedPercent, 'storage'), ` ${gigabytes(r.storage_used)} of ${gigabytes(r.storage_capacity)}`,
      h('small', {}, minutesOfRecording(r.storage_minutes_left))),
    h('td', { class: warned.has('signal_weak') ? 'warn' : '' },
      r.link ? `${r.link === 'wifi' ? 'Wi-Fi' : 'Mobile'}${r.signal_dbm !== null ? ` ${r.signal_dbm.toFixed(0)} dBm` : ''}` : 'No network'),
    h('td', { class: warned.has('temperature_high') ? 'warn' : '' }, `${r.temperature_c.toFixed(1)} °C`),
    h('td', {}, time(r.last_contact), user.online ? null : h('small', {}, ' (offline)')));
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
      h('thead', {}, h('tr', {}, ['Camera user', 'Battery', 'Storage', 'Signal', 'Temperature', 'Last contact'].map((t) => h('th', {}, t)))),
      body));
  el.update = (users) => put(body, users.map(row));
  return el;
}
