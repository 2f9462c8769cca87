/**
 * The Manager's content destination and recordings (issue 13; Axis's Body Worn Content
 * Destination API): import the destination's connection file, its status (with the 507 alert),
 * the capabilities and categories it published, the System ID and connection ID, the system's
 * own requests; the recordings the docks moved to the controller with their transfer status and
 * per-recording transfer log, and the download of a recording "not transferred"; each camera's
 * storage and transfer as the dock read it (for the Cameras and Docks views).
 */

import { dateTime, field, h, message, onSubmit, put, showError } from '../dom.js';

const STATES = {
  receiving: 'Receiving from the dock', buffered: 'Waiting for the content destination', transferring: 'Transferring',
  complete: 'Complete', not_transferred: 'Recording not transferred',
};

const STATUS = {
  pending: 'Not contacted yet', connected: 'Connected', unreachable: 'Cannot be reached', auth_failed: 'Refuses the user name and key',
  system_id_mismatch: 'Bound to another system', busy: 'Busy (503)', full: 'Out of storage (507)', refused: 'Refuses requests',
  error: 'Error',
};

function size(bytes) {
  if (!bytes) return '0 B';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  const i = Math.min(units.length - 1, Math.floor(Math.log10(bytes) / 3));
  return `${(bytes / 10 ** (3 * i)).toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** Content destination: import and status. `ui` = {call, show, card, table}. */
export async function contentDestinationView(ui, note = null) {
  const dest = await ui.call('/content-destination');
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  if (note) put(out, note);
  const file = h('input', { type: 'file', name: 'file', accept: '.json,application/json', required: true });
  const form = onSubmit(h('form', { 'aria-label': 'Import connection file' },
    field('Connection file', file), h('button', { type: 'submit', class: 'primary' }, 'Import')), out, async () => {
    const text = await file.files[0].text();
    await ui.call('/content-destination', { method: 'POST', raw: text });
    await contentDestinationView(ui, message('ok', 'Connection file imported; the controller contacts the content destination.', 'cd_imported'));
  });
  let status = null;
  if (dest.configured) {
    const c = dest.connection;
    status = h('div', {},
      dest.alert ? message('error', `${dateTime(dest.alert.at)}: ${dest.alert.message}`, 'cd_alert') : null,
      h('dl', { class: 'cd-status' },
        h('dt', {}, 'Status'), h('dd', { class: 'cd-state', dataset: { status: dest.status } },
          STATUS[dest.status] || dest.status, dest.status_message ? h('span', { class: 'reason' }, ` — ${dest.status_message}`) : null),
        h('dt', {}, 'Application'), h('dd', {}, `${c.ApplicationName} ${c.ApplicationVersion} (site ${c.SiteName})`),
        h('dt', {}, 'Token URIs'), h('dd', { class: 'mono' }, c.AuthenticationTokenURI.join(', ')),
        h('dt', {}, 'Certificates'), h('dd', {}, c.HTTPSCertificate.length ? c.HTTPSCertificate.join('; ') : 'none (HTTP)'),
        h('dt', {}, 'Container type'), h('dd', {}, c.ContainerType),
        h('dt', {}, 'Encryption'), h('dd', {}, c.WantEncryption ? `on, key ${c.PublicKeyId}` : 'off'),
        h('dt', {}, 'Capabilities'), h('dd', { class: 'cd-capabilities' }, dest.capabilities
          ? `${dest.capabilities.full ? 'FullStoreAndReadSupport: ' : ''}${dest.capabilities.names.join(', ') || 'none'}` : 'not read yet',
        dest.capabilities_error ? h('span', { class: 'reason' }, ` — ${dest.capabilities_error}`) : null),
        h('dt', {}, 'Categories'), h('dd', {}, dest.categories.map((x) => `${x.id}: ${x.name}`).join(', ') || '—'),
        h('dt', {}, 'System ID'), h('dd', { class: 'mono' }, `${dest.system_id}${dest.system_id_stored ? ' (stored on the destination)' : ''}`),
        h('dt', {}, 'Connection ID'), h('dd', { class: 'mono' }, dest.connection_id),
        h('dt', {}, 'Imported'), h('dd', {}, dateTime(dest.imported_at))),
      h('details', {}, h('summary', {}, 'Requests of the system (authentication, System/, Users/, Devices/)'),
        logTable(ui, dest.log)));
  }
  ui.show('content-destination', ui.card('h-cd', 'Content destination',
    status || message('info', 'No content destination yet: import the connection file your evidence management system or VMS gave you.'),
    form, out), await settingsCard(ui));
}

/** Clip length and the dock's transfer rate: what the docks hand to the cameras. */
async function settingsCard(ui) {
  const s = await ui.call('/recording-settings');
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  const form = onSubmit(h('form', { class: 'row', 'aria-label': 'Recording settings' },
    field('Clip length (s)', h('input', { type: 'number', name: 'clip_seconds', min: '1', max: '3600', value: String(s.clip_seconds), required: true })),
    field('Dock transfer rate (MB/s)', h('input', { type: 'number', name: 'rate', min: '0.01', step: 'any', value: String(s.dock_transfer_rate / 1e6), required: true })),
    h('button', { type: 'submit' }, 'Save')), out, async (v) => {
    await ui.call('/recording-settings', { method: 'PUT', body: { clip_seconds: Number(v.clip_seconds), dock_transfer_rate: Number(v.rate) * 1e6 } });
    put(out, message('ok', 'Saved; the cameras receive it when docked.', 'recording_settings_saved'));
  });
  return ui.card('h-rec-settings', 'Recording settings', form, out);
}

function logTable(ui, log) {
  return ui.table(['Time', 'Request', 'Object', 'HTTP', 'Outcome', ''], log.map((e) => h('tr', { dataset: { outcome: e.outcome } },
    h('td', {}, dateTime(e.at)), h('td', {}, e.method), h('td', { class: 'mono' }, e.target), h('td', {}, e.status ?? '—'),
    h('td', {}, e.outcome), h('td', {}, e.message || ''))));
}

/** Recordings: transfer status per recording, its log, download when not transferred. */
export async function recordingsView(ui, open = null) {
  const { recordings } = await ui.call('/recordings');
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  const rows = recordings.map((r) => h('tr', { dataset: { recording: r.id, state: r.state } },
    h('td', { class: 'mono' }, r.serial), h('td', {}, r.user_name || '—'), h('td', {}, dateTime(r.trigger_on_time)),
    h('td', {}, `${r.trigger_on} → ${r.trigger_off || '…'}`), h('td', {}, `${r.clips.length} · ${size(r.size)}`),
    h('td', { class: 'rec-notes' }, [r.category ? r.category.name : null, r.bookmarks.length ? `${r.bookmarks.length} bookmark${r.bookmarks.length === 1 ? '' : 's'}` : null].filter(Boolean).join(' · ') || '—'),
    h('td', { class: `rec-state${r.state === 'not_transferred' ? ' reason' : ''}` }, STATES[r.state] || r.state,
      r.last_error && r.state !== 'complete' ? h('small', { class: 'reason' }, ` ${r.last_error}`) : null),
    h('td', {}, h('button', { type: 'button', class: 'small', 'aria-label': `Transfer log of ${r.serial} ${dateTime(r.trigger_on_time)}`,
      onclick: () => recordingsView(ui, r.id).catch((err) => showError(out, err)) }, 'Log'))));
  let detail = null;
  if (open) {
    const r = await ui.call(`/recordings/${open}`);
    detail = ui.card('h-rec-log', `Transfer log: ${r.serial}, ${dateTime(r.trigger_on_time)}`,
      r.container ? h('p', {}, 'Container ', h('code', {}, r.container)) : null,
      r.downloadable ? h('ul', { class: 'list downloads' }, r.clips.map((c) => h('li', {},
        h('a', { href: `${ui.base()}/recordings/${r.id}/files/${c.file}`, download: `${r.serial}-${c.file}` }, `Download ${c.file}`),
        ` (${size(c.size)}, ${dateTime(c.start_time)} – ${dateTime(c.stop_time)})`))) : null,
      logTable(ui, r.log));
  }
  ui.show('recordings', ui.card('h-recordings', 'Recordings',
    recordings.length ? ui.table(['Camera', 'Camera user', 'Started', 'Trigger', 'Clips', 'Category, bookmarks', 'Transfer', ''], rows)
      : message('info', 'No recording yet: cameras hand their recordings over when they are docked.'), out), detail);
}

/** Per serial: "Storage: 12.3 MB of 32 GB · 2 recordings · moving 3/10 MB" as the dock read it. */
export async function cameraStorage(ui) {
  const { cameras } = await ui.call('/camera-storage');
  const text = {};
  for (const [serial, info] of Object.entries(cameras)) {
    const parts = [];
    const st = info.storage;
    if (st) {
      parts.push(`${size(st.used)} of ${size(st.capacity)}${st.full ? ' (FULL)' : ''} · ${st.recordings} on the camera`);
      if (st.offload && st.offload.active) parts.push(`moving ${size(st.offload.sent_bytes)} of ${size(st.offload.total_bytes)}`);
    }
    const ctl = info.controller || {};
    const held = Object.entries(ctl).filter(([s]) => s !== 'complete').map(([s, n]) => `${n} ${(STATES[s] || s).toLowerCase()}`);
    if (held.length) parts.push(held.join(', '));
    if (ctl.complete) parts.push(`${ctl.complete} complete`);
    text[serial] = parts.join(' · ') || '—';
  }
  return text;
}
