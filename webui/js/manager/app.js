/**
 * AXIS Body Worn Manager, the system controller's admin interface (SPEC S3–S8, S11, T1, T4).
 *
 * Pick a system controller, sign in with its administrator password, then: Add-on services >
 * AXIS Body Worn Live (the S3 connection flow, end-to-end keys: generate, copy link with key
 * plain or password-protected, import, fingerprints; Allow troubleshooting mode), Camera
 * profiles made and edited (S7 streaming, S8 networks, S11 Location per model with GPS),
 * Users (camera users), Cameras (click a camera: its IMEI and SIM PIN; an LTE camera's SIM status
 * and the alert its last docking raised, T4; its storage), Docks, Settings (settings.js: System > Date and
 * time, Network, Camera > Wi-Fi networks and Mobile networks), Content destination and Recordings
 * (issue 13, recordings.js). UI labels follow the manual's English labels (docs/manual-vs-spec.md §2).
 */

import { api } from '../api.js';
import { copyText, dateTime, field, h, message, onSubmit, put, showError } from '../dom.js';
import { settingsView } from './settings.js';
import { cameraStorage, contentDestinationView, recordingsView } from './recordings.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const sys = { id: null, name: null, base: null, zone: null };
/** A date and time as the system shows it: in its time zone (Settings > System > Date and time). */
const when = (ts) => dateTime(ts, sys.zone);

const STEPS = [
  ['not_installed', 'Install (Axis-hosted)'], ['installed', 'Enable cloud extensions'],
  ['extensions_enabled', 'Accept the licence agreement'], ['eula_accepted', 'Sign in'],
  ['signed_in', 'Organization'], ['organization_chosen', 'Storage location'],
  ['storage_chosen', 'Authorization code and Finish'], ['connected', 'Connected'],
];

const call = (path, options) => api(`${sys.base}${path}`, options);

function show(view, ...content) {
  document.body.dataset.view = view;
  for (const b of nav.querySelectorAll('button')) b.setAttribute('aria-current', String(b.dataset.view === view));
  put(main, content);
}

function card(id, title, ...content) {
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), content);
}

function checkbox(name, label, checked = false) {
  return h('label', { class: 'check' }, h('input', { type: 'checkbox', name, checked }), label);
}

function table(headers, rows) {
  return h('table', {}, h('thead', {}, h('tr', {}, headers.map((t) => h('th', {}, t)))), h('tbody', {}, rows));
}

/** What the content destination and recordings views (recordings.js) use of this page. */
const ui = { call, show, card, table, base: () => sys.base };

// ---- system picker and sign-in ----------------------------------------------------------------

async function pickSystem() {
  nav.hidden = true;
  Object.assign(sys, { id: null, name: null, base: null });
  put(who);
  const out = h('div', { class: 'out' });
  let systems = [];
  try {
    systems = (await api('/controller/systems')).systems;
  } catch (err) {
    showError(out, err);
  }
  const wanted = location.hash.slice(1);
  const match = systems.find((s) => s.id === wanted);
  if (match) return signIn(match);
  show('systems', h('section', { class: 'card narrow', 'aria-labelledby': 'h-systems' }, h('h2', { id: 'h-systems' }, 'Select the system'),
    systems.length ? h('ul', { class: 'list' }, systems.map((s) => h('li', {}, h('button', { type: 'button', class: 'item', onclick: () => signIn(s) },
      h('strong', {}, s.name), h('small', {}, ` ${s.id}`))))) : h('p', { class: 'empty' }, 'No system controller in this lab yet.'), out));
}

async function signIn(system) {
  Object.assign(sys, { id: system.id, name: system.name, base: `/controller/${system.id}/api` });
  history.replaceState(null, '', `#${system.id}`);
  try {
    await call('');
    return start();
  } catch (err) {
    if (err.status !== 401) return show('error', message('error', err.message, err.code));
  }
  const out = h('div', { class: 'out' });
  const form = h('form', { 'aria-label': 'Administrator sign-in' },
    field('Administrator password', h('input', { type: 'password', name: 'password', required: true, autocomplete: 'current-password' })),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
      h('button', { type: 'button', onclick: () => { history.replaceState(null, '', location.pathname); pickSystem(); } }, 'Other system')));
  onSubmit(form, out, async ({ password }) => {
    await call('/login', { method: 'POST', body: { password } });
    await start();
  });
  show('sign-in', h('section', { class: 'card narrow', 'aria-labelledby': 'h-sign-in' }, h('h2', { id: 'h-sign-in' }, `Sign in to ${system.name}`), form, out));
}

function start() {
  nav.hidden = false;
  put(who, h('span', {}, sys.name), h('button', { type: 'button', class: 'small', onclick: () => { history.replaceState(null, '', location.pathname); pickSystem(); } }, 'Switch system'));
  return addonView();
}

// ---- Add-on services > AXIS Body Worn Live (S3, S4–S6, T1) ----------------------------------------

async function addonView() {
  const overview = await call('');
  sys.zone = overview.settings.time_zone;
  const connection = overview.connection;
  const state = connection.state || 'not_installed';
  const index = STEPS.findIndex(([s]) => s === state);
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  const steps = h('ol', { class: 'steps' }, STEPS.slice(0, -1).map(([s, label], i) =>
    h('li', { class: i < index ? 'done' : '', 'aria-current': i === index ? 'step' : null }, label)));
  const next = async (method, path, body) => {
    await call(path, { method, body });
    await addonView();
  };
  let body;
  if (state === 'not_installed') {
    body = onSubmit(h('form', { 'aria-label': 'Install' },
      h('fieldset', {}, h('legend', {}, 'Hosting'), h('label', { class: 'check' }, h('input', { type: 'radio', name: 'hosting', value: 'axis-hosted', checked: true }), 'Axis-hosted')),
      h('button', { type: 'submit', class: 'primary' }, 'Install')), out, () => next('POST', '/addon/install', { hosting: 'axis-hosted' }));
  } else if (state === 'installed') {
    body = onSubmit(h('form', { 'aria-label': 'Cloud extensions' },
      h('p', {}, 'The system must reach the cloud through its network settings (IP, DNS, proxy, firewall).'),
      h('button', { type: 'submit', class: 'primary' }, 'Enable cloud extensions')), out, () => next('PUT', '/addon/cloud-extensions', { enabled: true }));
  } else if (state === 'extensions_enabled') {
    body = onSubmit(h('form', { 'aria-label': 'Licence agreement' },
      h('p', { class: 'hint' }, 'End-user licence agreement for AXIS Body Worn Live (lab emulation).'),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'accepted', required: true }), 'I accept the end-user licence agreement'),
      h('button', { type: 'submit', class: 'primary' }, 'Continue')), out, (v) => next('PUT', '/addon/eula', { accepted: v.accepted }));
  } else if (state === 'eula_accepted') {
    body = onSubmit(h('form', { 'aria-label': 'My Axis sign-in' },
      field('E-mail', h('input', { type: 'email', name: 'email', required: true, autocomplete: 'username' })),
      field('Password', h('input', { type: 'password', name: 'password', required: true, autocomplete: 'current-password' })),
      h('button', { type: 'submit', class: 'primary' }, 'Sign in')), out, (v) => next('POST', '/addon/sign-in', { email: v.email, password: v.password }));
  } else if (state === 'signed_in') {
    const orgs = (await call('/addon/organizations')).organizations;
    body = h('div', {},
      orgs.length ? h('ul', { class: 'list' }, orgs.map((o) => h('li', {}, h('button', { type: 'button', class: 'item',
        onclick: () => next('POST', '/addon/organization', { id: o.id }).catch((err) => showError(out, err)) }, o.name)))) : null,
      onSubmit(h('form', { 'aria-label': 'New organization' },
        field('Organization name', h('input', { name: 'name', required: true })),
        h('button', { type: 'submit', class: 'primary' }, '+ Create new organization')), out, (v) => next('POST', '/addon/organization', { create: v.name })));
  } else if (state === 'organization_chosen') {
    const regions = (await api('/api/cloud/regions')).regions;
    body = onSubmit(h('form', { 'aria-label': 'Choose the storage location' },
      field('Storage location', h('select', { name: 'region', required: true }, regions.map((r) => h('option', { value: r.code }, r.name)))),
      h('button', { type: 'submit', class: 'primary' }, 'Continue')), out, (v) => next('POST', '/addon/storage', { region: v.region }));
  } else if (state === 'storage_chosen') {
    const { authorization_code: code } = await call('/addon/authorization-code');
    const codeBox = h('input', { readonly: true, value: code, class: 'mono', 'aria-label': 'Authorization code of this Manager' });
    body = h('div', {},
      h('p', {}, 'Copy the Manager’s authorization code, then paste it below and Finish.'),
      h('div', { class: 'row' }, codeBox, h('button', { type: 'button', onclick: () => copyText(code, codeBox) }, 'Copy')),
      onSubmit(h('form', { 'aria-label': 'Authorization' },
        field('Authorization code', h('input', { name: 'code', required: true, autocomplete: 'off' })),
        h('button', { type: 'submit', class: 'primary' }, 'Finish')), out, (v) => next('POST', '/addon/finish', { authorization_code: v.code })));
  } else {
    const allow = h('input', { type: 'checkbox', checked: overview.allow_troubleshooting, onchange: async () => {
      try {
        await call('/troubleshooting', { method: 'PUT', body: { allow: allow.checked } });
        put(out, message('ok', `Troubleshooting mode is ${allow.checked ? 'allowed' : 'not allowed'}; cameras learn it when docked.`));
      } catch (err) { showError(out, err); }
    } });
    body = h('div', {}, h('h3', {}, 'Axis-hosted overview'),
      h('dl', {}, h('dt', {}, 'Organization'), h('dd', {}, connection.org_name), h('dt', {}, 'Storage location'), h('dd', {}, connection.region),
        h('dt', {}, 'Connected'), h('dd', {}, when(connection.connected_at)), h('dt', {}, 'Licence'), licenceLine(),
        h('dt', {}, 'Camera users in AXIS Body Worn Live'), h('dd', { class: 'cloud-sync' }, cloudSyncText(overview.cloud_sync)),
        h('dt', {}, 'System time'), h('dd', { class: 'time-sync' }, timeSyncText(overview))),
      h('details', {}, h('summary', {}, 'Show more'), h('label', { class: 'check' }, allow, 'Allow troubleshooting mode'),
        locationForm(overview.settings, out)));
  }
  show('addon',
    card('h-addon', 'Add-on services > AXIS Body Worn Live', state === 'connected' ? null : steps, body, out),
    await keysCard());
}

/** Where the system is (a country, ISO 3166): support asks for it, and T2 row 7 reads it. */
function locationForm(settings, out) {
  return onSubmit(h('form', { class: 'row', 'aria-label': 'System location' },
    field('Country where the system is (two-letter code, e.g. SE)', h('input', { name: 'country', value: settings.country || '',
      pattern: '[A-Za-z]{2}', maxlength: 2, autocomplete: 'off' })),
    h('button', { type: 'submit' }, 'Save')), out, async (v) => {
    const country = v.country.trim().toUpperCase() || null;
    await call('/settings', { method: 'PUT', body: { ...(await call('')).settings, country } });
    put(out, message('ok', country ? `The system is in ${country}.` : 'The system\'s location is not set.', 'location_saved'));
  });
}

/** The overview's licence line (S3, S15): the trial, a purchase or an expiry, as the cloud says. */
function licenceLine() {
  const dd = h('dd', { class: 'licence' }, 'Reading the licence…');
  call('/addon/licence').then((lic) => {
    dd.dataset.state = lic.state;
    const trial = lic.trial ? `A 30-day trial started when the system was connected (${when(lic.trial.starts_at)})` : 'No trial';
    const text = {
      trial: `${trial}; it runs until ${when(lic.covered_until)}.`,
      purchased: `Purchased: ${lic.quantity} licence${lic.quantity === 1 ? '' : 's'}, covered until ${when(lic.covered_until)}.`,
      expired: `Expired ${when(lic.ended_at)}: cameras do not react to a start. Order licences in AXIS Body Worn Live > Settings.`,
      none: 'No licence.',
    }[lic.state];
    put(dd, lic.valid ? text : h('span', { class: 'reason' }, text));
  }).catch((err) => put(dd, h('span', { class: 'reason' }, `The licence cannot be read: ${err.message}`)));
  return dd;
}

/** What the controller last managed to tell the cloud about its camera users. */
function cloudSyncText(sync) {
  if (!sync) return '—';
  if (sync.error) {
    return h('span', { class: 'reason', dataset: { code: 'cloud_sync_failed' } },
      `Not sent: ${sync.error}${sync.pending ? ' Trying again.' : ''}`);
  }
  const users = `${sync.camera_users} camera user${sync.camera_users === 1 ? '' : 's'}`;
  if (sync.synced_at) return `${users} sent ${when(sync.synced_at)}${sync.pending ? ' · a change is on its way' : ''}`;
  return sync.pending ? 'Sending…' : 'Not sent yet.';
}

/** The controller's clock (S1): its time and its last NTP sync. */
function timeSyncText(overview) {
  const t = overview.time_sync || {};
  const now = overview.local_time || when(overview.time);
  if (t.error) return [now, ' · ', h('span', { class: 'reason' }, t.error)];
  if (t.synced_at) return `${now} · NTP ${t.server}, stratum ${t.stratum}, synced ${when(t.synced_at)}`;
  return now;
}

async function keysCard() {
  const keys = (await call('/keys')).keys;
  const active = keys.find((k) => k.active);
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  const linkBox = h('textarea', { class: 'linkbox', rows: 3, readonly: true, 'aria-label': 'Copied link with key' });
  const copyLink = async (passphrase) => {
    const r = await call(`/keys/${active.id}/link`, { method: 'POST', body: passphrase ? { passphrase } : {} });
    linkBox.value = r.link;
    const copied = await copyText(r.link, linkBox);
    put(out, message('ok', `${r.protected ? 'Password-protected link' : 'Link'} with key ${copied ? 'copied to the clipboard' : 'ready: press Ctrl+C to copy it'}. Share it with operators by a secure channel (S10).`, 'link_copied'));
  };
  const passphrase = h('input', { type: 'password', name: 'passphrase', autocomplete: 'new-password' });
  // S10: Open AXIS Body Worn Live opens the client in a new tab — with this system's key (the plain
  // link with key: the client takes the key and wipes it from the address bar); ∨ lists the copies.
  const open = h('a', { class: 'button primary open-live', href: '/live/', target: '_blank', rel: 'noopener' }, 'Open AXIS Body Worn Live');
  if (active) call(`/keys/${active.id}/link`, { method: 'POST', body: {} }).then((r) => { open.href = r.link; }).catch(() => {});
  const menu = active ? h('details', { class: 'menu' }, h('summary', { 'aria-label': 'Open AXIS Body Worn Live: more options', title: 'Copy a link with key' }, '∨'), h('div', { class: 'menu-body' },
    h('button', { type: 'button', onclick: () => copyLink(null).catch((err) => showError(out, err)) }, 'Copy link with key'),
    h('hr'), field('Passphrase', passphrase),
    h('button', { type: 'button', onclick: () => (passphrase.value ? copyLink(passphrase.value).catch((err) => showError(out, err))
      : put(out, message('error', 'Type a passphrase for the password-protected link.'))) }, 'Copy password-protected link with key'))) : null;
  const generate = onSubmit(h('form', { class: 'row', 'aria-label': 'Generate key' },
    field('Key name', h('input', { name: 'name', required: true, value: 'Key' })), h('button', { type: 'submit' }, 'Generate key')), out,
  async (v) => { await call('/keys', { method: 'POST', body: { name: v.name } }); await addonView(); });
  const importForm = onSubmit(h('form', { 'aria-label': 'Import link with key' },
    field('Name of the link with key', h('input', { name: 'name', required: true })),
    field('Link with key', h('input', { name: 'link', required: true, autocomplete: 'off' })),
    field('Passphrase (if the link is password-protected)', h('input', { type: 'password', name: 'passphrase', autocomplete: 'off' })),
    h('button', { type: 'submit' }, 'Import')), out,
  async (v) => { await call('/keys/import', { method: 'POST', body: { name: v.name, link: v.link, ...(v.passphrase ? { passphrase: v.passphrase } : {}) } }); await addonView(); });
  return card('h-e2e', 'End-to-end encryption',
    keys.length ? table(['Name', 'Fingerprint', 'Origin', 'Active', 'Created'], keys.map((k) => h('tr', {},
      h('td', {}, k.name), h('td', { class: 'mono fingerprint' }, k.fingerprint), h('td', {}, k.origin),
      h('td', {}, k.active ? 'active' : ''), h('td', {}, when(k.created_at)))))
      : message('info', 'No key yet: end-to-end encryption is mandatory; generate a key.'),
    generate, h('div', { class: 'row open-live-row' }, open, menu), linkBox, h('details', {}, h('summary', {}, 'Import link with key'), importForm), out);
}

// ---- Camera profiles (S7, S8, S11) -----------------------------------------------------------------

const LOCATION_MODES = [['while_recording_or_streaming', 'While recording or streaming'], ['always', 'Always']];
// issue 16: the camera gestures a profile may make the help request (bwlab/wire/help.py HELP_GESTURES)
const HELP_GESTURES = [['', 'Off'], ['function_long', 'Long press of the function button']];

/**
 * The form of a camera profile, new (`profile` null) or existing: Body Worn Live settings (S7),
 * Location per camera model with its mode, offered only for the models with GPS (S11), and the
 * Wi-Fi networks of Settings > Camera assigned to it (S8 option 1).
 */
function profileForm(profile, nets, models, out, onSaved) {
  const p = profile || {};
  const editing = Boolean(profile);
  const gps = models.filter((m) => m.gps);
  const location = p.location || {};
  const form = h('form', { 'aria-label': editing ? `Edit camera profile ${p.name}` : 'New camera profile', class: 'profile-form' },
    field('Profile name', h('input', { name: 'name', required: true, value: p.name || '' })),
    h('fieldset', {}, h('legend', {}, 'AXIS Body Worn Live'), checkbox('streaming', 'Streaming', p.streaming),
      checkbox('live_stream_on_record', 'Live stream on record', p.live_stream_on_record),
      checkbox('remote_activation', 'Remote stream activation', p.remote_activation),
      field('Mode', h('select', { name: 'remote_mode' }, [['while_recording', 'While recording'], ['always', 'Always']].map(([v, t]) =>
        h('option', { value: v, selected: p.remote_mode === v }, t))))),
    h('fieldset', { class: 'help-request' }, h('legend', {}, 'Help request'),
      field('Help gesture', h('select', { name: 'help_gesture' }, HELP_GESTURES.map(([v, t]) =>
        h('option', { value: v, selected: (p.help_gesture || '') === v }, t)))),
      checkbox('help_stream', 'Start a live stream with a help request (needs Streaming)', p.help_stream !== false)),
    h('fieldset', { class: 'location' }, h('legend', {}, 'Location'),
      h('p', { class: 'hint' }, `Per camera model; only models with GPS (${gps.map((m) => m.name).join(', ') || 'none'}) report positions.`),
      gps.map((m) => {
        const setting = location[m.name] || {};
        return h('div', { class: 'row location-model', dataset: { model: m.name } },
          checkbox(`location:${m.name}`, `Location on ${m.name}`, setting.enabled),
          field(`Location mode of ${m.name}`, h('select', { name: `location_mode:${m.name}` }, LOCATION_MODES.map(([v, t]) =>
            h('option', { value: v, selected: (setting.mode || 'while_recording_or_streaming') === v }, t)))));
      })),
    h('fieldset', {}, h('legend', {}, 'Wireless connection'), nets.length ? nets.map((n) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', name: 'net', value: n.ssid, checked: (p.wifi_networks || []).includes(n.ssid) }), n.ssid))
      : h('p', { class: 'hint' }, 'No Wi-Fi networks yet (Settings > Camera).')),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, editing ? 'Save' : 'Add'),
      editing ? h('button', { type: 'button', onclick: () => profilesView().catch((err) => showError(out, err)) }, 'Cancel') : null));
  return onSubmit(form, out, async (v, event) => {
    const wifi = [...event.target.querySelectorAll('input[name=net]:checked')].map((el) => el.value);
    const loc = {};
    for (const m of gps) loc[m.name] = { enabled: Boolean(v[`location:${m.name}`]), mode: v[`location_mode:${m.name}`] };
    const body = { name: v.name, streaming: v.streaming, live_stream_on_record: v.live_stream_on_record,
      remote_activation: v.remote_activation, remote_mode: v.remote_mode, location: loc, wifi_networks: wifi,
      help_gesture: v.help_gesture || null, help_stream: v.help_stream };
    const saved = await call(editing ? `/profiles/${p.id}` : '/profiles', { method: editing ? 'PUT' : 'POST', body });
    await onSaved(saved);
  });
}

async function profilesView(editId = null, note = null) {
  const [{ profiles }, { wifi_networks: nets }, { models }] = await Promise.all([call('/profiles'), call('/wifi-networks'), call('/models')]);
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  if (note) put(out, note);
  const remote = (p) => (p.streaming && p.remote_activation ? (p.remote_mode === 'always' ? 'Always' : 'While recording') : 'off');
  const editing = profiles.find((p) => p.id === editId);
  const form = editing
    ? profileForm(editing, nets, models, out, (saved) => profilesView(null, message('ok', `Profile ${saved.name} saved; cameras of its camera users receive it when docked.`, 'profile_saved')))
    : profileForm(null, nets, models, out, () => profilesView());
  show('profiles', card('h-profiles', 'Camera profiles',
    table(['Name', 'Streaming', 'Live stream on record', 'Remote stream activation', 'Help request', 'Wi-Fi networks', 'Location', ''], profiles.map((p) => h('tr', { dataset: { profile: p.id } },
      h('td', {}, p.name), h('td', {}, p.streaming ? 'on' : 'off'), h('td', {}, p.live_stream_on_record ? 'on' : 'off'), h('td', {}, remote(p)),
      h('td', {}, p.help_gesture ? (HELP_GESTURES.find(([v]) => v === p.help_gesture) || [0, p.help_gesture])[1] : 'off'),
      h('td', {}, (p.wifi_networks || []).join(', ') || '—'),
      h('td', {}, Object.entries(p.location || {}).filter(([, l]) => l.enabled).map(([m, l]) => `${m}: ${l.mode === 'always' ? 'Always' : 'While recording or streaming'}`).join('; ') || '—'),
      h('td', {}, h('div', { class: 'row' },
        h('button', { type: 'button', class: 'small', 'aria-label': `Edit profile ${p.name}`, 'aria-pressed': String(p.id === editId), onclick: () => profilesView(p.id).catch((err) => showError(out, err)) }, 'Edit'),
        h('button', { type: 'button', class: 'small', 'aria-label': `Delete profile ${p.name}`, onclick: () => call(`/profiles/${p.id}`, { method: 'DELETE' }).then(() => profilesView()).catch((err) => showError(out, err)) }, 'Delete')))))),
    out), editing ? card('h-edit-profile', `Edit camera profile: ${editing.name}`, form) : card('h-new-profile', 'New camera profile', form));
  if (editing) document.getElementById('h-edit-profile').scrollIntoView({ block: 'nearest' });
}

// ---- Users (camera users; S8 option 2a) ------------------------------------------------------------

async function usersView() {
  const [{ camera_users: users }, { profiles }] = await Promise.all([call('/camera-users'), call('/profiles')]);
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  const profileSelect = (name, selected) => h('select', { name }, h('option', { value: '' }, '— none —'),
    profiles.map((p) => h('option', { value: p.id, selected: p.id === selected }, p.name)));
  const form = onSubmit(h('form', { class: 'row', 'aria-label': 'New camera user' },
    field('Name', h('input', { name: 'name', required: true })), field('Camera profile', profileSelect('profile')),
    h('button', { type: 'submit', class: 'primary' }, 'Add')), out,
  async (v) => { await call('/camera-users', { method: 'POST', body: { name: v.name, ...(v.profile ? { profile: v.profile } : {}) } }); await usersView(); });
  show('users', card('h-users', 'Users (camera users)',
    table(['Name', 'Camera profile', 'Network (Manager)', 'Network (Assistant app)'], users.map((u) => {
      const select = profileSelect('profile', u.profile_id);
      select.setAttribute('aria-label', `Camera profile of ${u.name}`);
      select.addEventListener('change', () => call(`/camera-users/${u.id}`, { method: 'PUT', body: { profile: select.value } })
        .then(() => put(out, message('ok', `${u.name} now uses the profile ${select.selectedOptions[0].textContent}; the camera learns it when docked.`)))
        .catch((err) => showError(out, err)));
      return h('tr', { dataset: { user: u.id } }, h('td', {}, u.name), h('td', {}, select), h('td', {}, userNetwork(u, out)),
        h('td', {}, u.assistant_network ? u.assistant_network.ssid : '—'));
    })), form, out));
}

/** S8 option 2a: a Wi-Fi network given to the camera user in the Manager (before the profile's;
 * the camera user's profile must stream). */
function userNetwork(user, out) {
  const done = (text) => usersView().then(() => put(document.querySelector('#main .out'), message('ok', text, 'user_network_saved')));
  return h('div', {}, h('span', { class: 'ssid' }, user.network ? user.network.ssid : '—'),
    h('details', {}, h('summary', {}, 'Network'),
      onSubmit(h('form', { class: 'row', 'aria-label': `Network of ${user.name}` },
        field('Name (SSID)', h('input', { name: 'ssid', required: true, maxlength: 32 })),
        field('Password', h('input', { type: 'password', name: 'password', maxlength: 63, autocomplete: 'new-password' })),
        h('button', { type: 'submit' }, 'Add')), out, async (v) => {
        await call(`/camera-users/${user.id}`, { method: 'PUT', body: { network: { ssid: v.ssid, password: v.password } } });
        await done(`${user.name} gets the Wi-Fi network ${v.ssid} first, when the camera is docked (S8).`);
      }),
      user.network ? h('button', { type: 'button', class: 'small', onclick: () => call(`/camera-users/${user.id}`, { method: 'PUT', body: { clear_network: true } })
        .then(() => done(`${user.name}'s own Wi-Fi network is removed.`)).catch((err) => showError(out, err)) }, 'Remove network') : null));
}

// ---- Cameras and docks --------------------------------------------------------------------------------

async function camerasView(note = null) {
  const [{ cameras }, { camera_users: users }, { models }, storage] = await Promise.all([call('/cameras'), call('/camera-users'), call('/models'), cameraStorage(ui)]);
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  if (note) put(out, note);
  const nameOf = (id) => (users.find((u) => u.id === id) || {}).name || '—';
  const alerts = cameras.filter((c) => c.sim_alert);
  const form = onSubmit(h('form', { class: 'row', 'aria-label': 'Add camera' },
    field('Serial number', h('input', { name: 'serial', required: true, maxlength: 32 })),
    field('Model', h('select', { name: 'model' }, models.map((m) => h('option', { value: m.name }, m.name)))),
    field('Camera user', h('select', { name: 'user' }, h('option', { value: '' }, 'Self-assigned'), users.map((u) => h('option', { value: u.id }, u.name)))),
    h('button', { type: 'submit', class: 'primary' }, 'Add')), out,
  async (v) => { await call('/cameras', { method: 'POST', body: { serial: v.serial, model: v.model, ...(v.user ? { camera_user: v.user } : { self_assign: true }) } }); await camerasView(); });
  show('cameras', card('h-cameras', 'Cameras',
    alerts.length ? h('div', { class: 'alerts', 'aria-label': 'Alerts' }, alerts.map((c) => message('error',
      `Camera ${c.serial} (${c.model}): ${c.sim_alert.message}. Docked ${when(c.sim_alert.at)}; SIM status ${c.sim_status || 'unknown'}. `
      + 'Click the camera below and enter its SIM PIN, or replace the SIM card (T4).', 'sim_alert'))) : null,
    table(['Serial', 'Model', 'Camera user', 'Dock', 'Certificate valid until', 'Storage and recordings', 'SIM'], cameras.map((c) => h('tr', { dataset: { serial: c.serial } },
      h('td', { class: 'mono' }, cameraPage(c, out)), h('td', {}, c.model), h('td', {}, c.self_assign ? `self-assigned${c.docked_user_id ? ` (${nameOf(c.docked_user_id)})` : ''}` : nameOf(c.camera_user_id)),
      h('td', {}, c.docked ? `docked, bay ${c.bay}` : 'out of dock'),
      h('td', { class: c.cert_valid ? '' : 'reason' }, c.cert_not_after ? `${when(c.cert_not_after)}${c.cert_valid ? '' : ' (expired: dock the camera)'}` : '—'),
      h('td', { class: 'storage' }, storage[c.serial] || '—'),
      h('td', { class: 'sim' }, c.capabilities.lte ? [
        h('div', { class: 'sim-status', dataset: { status: c.sim_status || '' } }, `SIM status: ${c.sim_status || 'not read yet (dock the camera)'}`),
        c.sim_alert ? h('div', { class: 'reason sim-alert' }, `⚠ ${c.sim_alert.message}`) : null,
        h('small', {}, `PIN ${c.sim_pin_set ? 'set' : 'not set'}`)] : '—')))),
    form, out));
}

/** A camera, clicked: its IMEI (T2 row 4d) and, on LTE models, its SIM PIN (T2 row 4a, T4 row 5),
 * sent when docked. The APN is the system's: Settings > Camera > Mobile networks. */
function cameraPage(camera, out) {
  return h('details', { class: 'camera-page' }, h('summary', { 'aria-label': `Camera ${camera.serial}` }, camera.serial),
    h('dl', {}, h('dt', {}, 'Model'), h('dd', {}, camera.model), h('dt', {}, 'IMEI'), h('dd', { class: 'mono' }, camera.imei || '—')),
    camera.capabilities.lte ? onSubmit(h('form', { class: 'row', 'aria-label': `SIM of camera ${camera.serial}` },
      field('SIM PIN', h('input', { name: 'sim_pin', inputmode: 'numeric', pattern: '[0-9]{4,8}', maxlength: 8, required: true, autocomplete: 'off' })),
      h('button', { type: 'submit' }, 'Save')), out, async (v) => {
      await call(`/cameras/${camera.serial}`, { method: 'PUT', body: { sim_pin: v.sim_pin } });
      await camerasView(message('ok', `Camera ${camera.serial}: SIM PIN saved; the camera receives it when docked.`));
    }) : null);
}

async function docksView() {
  const [{ docks }, storage] = await Promise.all([call('/docks'), cameraStorage(ui)]);
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  const form = onSubmit(h('form', { class: 'row', 'aria-label': 'Add dock' },
    field('Dock name', h('input', { name: 'name', required: true })),
    field('Bays', h('input', { type: 'number', name: 'bays', min: '1', max: '8', value: '8', required: true })),
    h('button', { type: 'submit', class: 'primary' }, 'Add')), out,
  async (v) => { await call('/docks', { method: 'POST', body: { name: v.name, bays: Number(v.bays) } }); await docksView(); });
  show('docks', card('h-docks', 'Docks',
    table(['Dock', 'Bays'], docks.map((d) => h('tr', {}, h('td', {}, d.name),
      h('td', {}, h('div', { class: 'row' }, d.bays.map((b) => h('span', { class: 'count', title: b.serial ? storage[b.serial] || '' : '' },
        `${b.bay}: ${b.serial || 'empty'}`, b.serial && storage[b.serial] ? h('small', { class: 'bay-storage' }, ` ${storage[b.serial]}`) : null))))))),
    h('p', { class: 'hint' }, 'Cameras are put in and taken out of the bays in the Lab panel (the physical world).'), form, out));
}

const VIEWS = { addon: addonView, profiles: () => profilesView(), users: usersView, cameras: () => camerasView(), docks: docksView,
  settings: () => settingsView({ call, show, card, when, setZone: (zone) => { sys.zone = zone; } }),
  'content-destination': () => contentDestinationView(ui), recordings: () => recordingsView(ui) };

nav.addEventListener('click', (event) => {
  const view = VIEWS[event.target.dataset && event.target.dataset.view];
  // no view before a system is picked (its API base is unknown until then)
  if (view && sys.base) view().catch((err) => show('error', message('error', err.message, err.code)));
});

pickSystem().catch((err) => put(main, message('error', err.message, err.code)));
