/**
 * The Manager's Settings menu, where the manual and the diagnosis's fixes (L3) send the user:
 *
 * - Settings > System > Date and time (S1, T2 row 6): time zone and NTP server; the controller's
 *   clock syncs at once and shows its local time and last NTP answer.
 * - Settings > Network (S3, T2 row 1): IP address (DHCP or static, with gateway), DNS servers and
 *   proxy server — how the controller reaches the cloud; saving says whether it now can.
 * - Settings > Camera: Wi-Fi networks (S8 option 1) and Mobile networks, whose Show advanced holds
 *   the APN every LTE camera receives when docked (T2 row 4c, T4 row 7).
 *
 * Each screen saves its own section; the server checks every field and names the bad one.
 */

import { field, h, message, onSubmit, put, showError } from '../dom.js';

const TABS = [['system', 'System'], ['network', 'Network'], ['camera', 'Camera']];

/** `deps`: { call(path, options), show(view, ...content), card(id, title, ...content), when(ts): a
 * date and time in the system's zone, setZone(zone) }. */
export async function settingsView(deps, tab = 'system', note = null) {
  const { call, show, card } = deps;
  const overview = await call('');
  deps.setZone(overview.settings.time_zone);
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  if (note) put(out, note);
  const again = (t, n) => settingsView(deps, t, n);
  const tabs = h('div', { class: 'row tabs', role: 'tablist', 'aria-label': 'Settings' }, TABS.map(([id, label]) =>
    h('button', { type: 'button', role: 'tab', 'aria-selected': String(id === tab), dataset: { tab: id },
      onclick: () => again(id).catch((err) => showError(out, err)) }, label)));
  const screens = { system: systemScreen, network: networkScreen, camera: cameraScreen };
  show('settings', h('h2', { class: 'crumb' }, `Settings > ${TABS.find(([id]) => id === tab)[1]}`), tabs,
    ...await screens[tab](deps, overview, out, again), out);
}

// ---- Settings > System > Date and time ------------------------------------------------------------

function clockText(r, when) {
  const t = r.time_sync || {};
  const sync = t.error ? h('span', { class: 'reason' }, t.error)
    : (t.synced_at ? `NTP ${t.server}, stratum ${t.stratum}, synced ${when(t.synced_at)}` : 'not synced yet');
  return [h('span', { class: 'local-time' }, r.local_time), ' · ', sync];
}

async function systemScreen({ call, card, when }, overview, out, again) {
  const s = overview.settings;
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const form = onSubmit(h('form', { 'aria-label': 'Date and time' },
    field('Time zone', h('input', { name: 'time_zone', list: 'time-zones', required: true, value: s.time_zone, autocomplete: 'off' })),
    h('datalist', { id: 'time-zones' }, ['UTC', ...zones].map((z) => h('option', { value: z }))),
    field('NTP server', h('input', { name: 'ntp_server', value: s.ntp_server || '', placeholder: 'the lab network’s (DHCP)', autocomplete: 'off' })),
    h('p', { class: 'hint' }, 'Use the same NTP server on the computers that view AXIS Body Worn Live: streams are refused when the clocks differ (S1).'),
    h('button', { type: 'submit', class: 'primary' }, 'Save')), out, async (v) => {
    const r = await call('/settings/date-time', { method: 'PUT', body: { time_zone: v.time_zone.trim(), ntp_server: v.ntp_server.trim() || null } });
    await again('system', message(r.time_sync.error ? 'error' : 'ok',
      `Date and time saved. System time ${r.local_time}${r.time_sync.error ? ` — ${r.time_sync.error}` : ''}.`, 'date_time_saved'));
  });
  return [card('h-date-time', 'Date and time',
    h('dl', {}, h('dt', {}, 'System time'), h('dd', { class: 'time-sync' }, clockText(overview, when))), form)];
}

// ---- Settings > Network -----------------------------------------------------------------------------

async function networkScreen({ call, card }, overview, out, again) {
  const n = overview.settings.network;
  const dhcp = n.ipv4 === 'dhcp';
  const address = h('input', { name: 'address', value: dhcp ? '' : n.ipv4, placeholder: '192.0.2.10/24', autocomplete: 'off' });
  const gateway = h('input', { name: 'gateway', value: n.gateway || '', autocomplete: 'off' });
  const staticFields = h('div', { class: 'static-ip', hidden: dhcp }, field('Address and prefix', address), field('Gateway', gateway));
  const mode = (value, label) => h('label', { class: 'check' }, h('input', { type: 'radio', name: 'mode', value, checked: (value === 'dhcp') === dhcp,
    onchange: () => { staticFields.hidden = value === 'dhcp'; } }), label);
  const form = onSubmit(h('form', { 'aria-label': 'Network' },
    h('fieldset', {}, h('legend', {}, 'IP address'), mode('dhcp', 'Obtain an IP address automatically (DHCP)'), mode('static', 'Use a static IP address'), staticFields),
    field('DNS servers', h('input', { name: 'dns', value: n.dns.join(', '), placeholder: 'e.g. 192.0.2.53, 192.0.2.54', autocomplete: 'off' })),
    field('Proxy server', h('input', { name: 'proxy', value: n.proxy || '', placeholder: 'http://proxy.example:3128', autocomplete: 'off' })),
    h('p', { class: 'hint' }, 'The system reaches AXIS Body Worn Live through these settings; the firewall must let it reach the host names on port 443 (T5).'),
    h('button', { type: 'submit', class: 'primary' }, 'Save')), out, async (v) => {
    const body = {
      ipv4: v.mode === 'dhcp' ? 'dhcp' : v.address.trim(),
      gateway: v.mode === 'dhcp' ? null : (v.gateway.trim() || null),
      dns: v.dns.split(/[\s,]+/).filter(Boolean),
      proxy: v.proxy.trim() || null,
    };
    const r = await call('/settings/network', { method: 'PUT', body });
    await again('network', r.cloud.reachable
      ? message('ok', 'Network settings saved. The system reaches AXIS Body Worn Live through them.', 'network_saved')
      : message('error', `Network settings saved, but the system cannot reach AXIS Body Worn Live: ${r.cloud.error}`, 'cloud_unreachable'));
  });
  return [card('h-network', 'Network', form)];
}

// ---- Settings > Camera: Wi-Fi networks and Mobile networks ----------------------------------------

async function cameraScreen({ call, card }, overview, out, again) {
  const { wifi_networks: nets } = await call('/wifi-networks');
  const wifiForm = onSubmit(h('form', { class: 'row', 'aria-label': 'Add Wi-Fi network' },
    field('Name (SSID)', h('input', { name: 'ssid', required: true, maxlength: 32 })),
    field('Password', h('input', { type: 'password', name: 'password', maxlength: 63, autocomplete: 'new-password' })),
    h('button', { type: 'submit', class: 'primary' }, 'Add')), out,
  async (v) => { await call('/wifi-networks', { method: 'POST', body: { ssid: v.ssid, password: v.password } }); await again('camera'); });
  const wifi = card('h-wifi', 'Wi-Fi networks',
    h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Name (SSID)'), h('th', {}))), h('tbody', {}, nets.map((n) => h('tr', {},
      h('td', {}, n.ssid), h('td', {}, h('button', { type: 'button', class: 'small', 'aria-label': `Delete ${n.ssid}`,
        onclick: () => call(`/wifi-networks/${n.id}`, { method: 'DELETE' }).then(() => again('camera')).catch((err) => showError(out, err)) }, 'Delete')))))),
    wifiForm);
  const apn = overview.settings.mobile_networks.apn;
  const mobileForm = onSubmit(h('form', { 'aria-label': 'Mobile networks' },
    h('p', { class: 'hint' }, 'Cameras with a SIM card (AXIS W120) use the mobile network; the SIM PIN is set per camera in Cameras.'),
    h('p', { class: 'apn-now' }, apn ? `Access point name: ${apn}` : 'Access point name: supplied by the mobile network.'),
    h('details', { class: 'advanced' }, h('summary', {}, 'Show advanced'),
      field('APN (access point name)', h('input', { name: 'apn', value: apn || '', maxlength: 100, placeholder: 'as your network provider gives it', autocomplete: 'off' })),
      h('p', { class: 'hint' }, 'Needed when the operator requires an access point name; empty: the network supplies it.')),
    h('button', { type: 'submit', class: 'primary' }, 'Save')), out, async (v) => {
    const r = await call('/settings/mobile-networks', { method: 'PUT', body: { apn: v.apn.trim() || null } });
    await again('camera', message('ok', r.mobile_networks.apn
      ? `APN ${r.mobile_networks.apn} saved; cameras with a SIM card receive it when docked.` : 'No APN: the mobile network supplies it.', 'apn_saved'));
  });
  return [wifi, card('h-mobile', 'Mobile networks', mobileForm)];
}
