/**
 * Camera health (issue 16 item 5, SPEC O5) as the web clients draw it: Live's Camera health panel
 * (webui/js/live/health.js) and the Lab panel's camera cards (webui/js/lab/app.js). A report is a
 * camera's last `health` message as the appliance summarises it (bwlab/wire/health.py `summary`:
 * battery, storage, signal, temperature, last contact and the warnings), so both clients — and
 * `bwlab status` — warn at the same thresholds, drawn in one place.
 */

import { h, time } from './dom.js';

/** What healthCells gives, in its order (a table's column headers). */
export const HEALTH_LABELS = ['Battery', 'Storage', 'Signal', 'Temperature', 'Last contact'];

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

/** The warnings' codes of a report, e.g. "battery_low storage_low" (empty: none). */
export function warningCodes(report) {
  return report.warnings.map((w) => w.code).join(' ');
}

/** The warnings of a report, each a message. */
export function healthWarnings(report) {
  return report.warnings.map((w) => h('p', { class: 'msg msg-warn health-warning', role: 'status', dataset: { code: w.code } }, w.message));
}

/**
 * The measures of a report, in order: [{label, warn, dataset, content}] for Battery, Storage,
 * Signal, Temperature and Last contact. `name` labels the meters; `online` false marks the last
 * contact "(offline)".
 */
export function healthCells(report, { name, online }) {
  const r = report;
  const warned = new Set(r.warnings.map((w) => w.code));
  const usedPercent = (100 * r.storage_used) / r.storage_capacity;
  return [
    { label: HEALTH_LABELS[0], warn: warned.has('battery_low') || warned.has('battery_empty'), dataset: { battery: r.battery_percent },
      content: [meter(`Battery of ${name}`, r.battery_percent, 'battery'), ` ${r.battery_percent.toFixed(0)} %`,
        h('small', {}, r.charging ? ' charging in the dock' : r.battery_minutes_left !== null ? ` · ${Math.round(r.battery_minutes_left)} min left` : '')] },
    { label: HEALTH_LABELS[1], warn: warned.has('storage_low') || warned.has('storage_full'), dataset: { storage: usedPercent.toFixed(1) },
      content: [meter(`Storage of ${name}`, usedPercent, 'storage'), ` ${gigabytes(r.storage_used)} of ${gigabytes(r.storage_capacity)}`,
        h('small', {}, minutesOfRecording(r.storage_minutes_left))] },
    { label: HEALTH_LABELS[2], warn: warned.has('signal_weak'), dataset: { signal: r.signal_dbm ?? '' },
      content: [r.link ? `${r.link === 'wifi' ? 'Wi-Fi' : 'Mobile'}${r.signal_dbm !== null ? ` ${r.signal_dbm.toFixed(0)} dBm` : ''}` : 'No network'] },
    { label: HEALTH_LABELS[3], warn: warned.has('temperature_high'), dataset: { temperature: r.temperature_c },
      content: [`${r.temperature_c.toFixed(1)} °C`] },
    { label: HEALTH_LABELS[4], warn: false, dataset: { lastContact: r.last_contact ?? '' },
      content: [time(r.last_contact), online ? null : h('small', {}, ' (offline)')] },
  ];
}
