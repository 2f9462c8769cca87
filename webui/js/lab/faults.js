/**
 * The Lab panel's faults card (SPEC L2; T2–T4, S1): the faults injected now, a form to inject
 * any kind the lab supports, clearing one or all, the blocked T5 host names, and the lab-wide
 * findings of the diagnosis (T2 row 1, per system).
 *
 * The form is generated from KINDS, a small table of each fault kind's target and the keys its
 * ``set`` takes (labnet/faults.py); the kinds' descriptions and the targets that exist
 * (access points, cells, cameras with a SIM slot, running cameras) come from GET /api/lab/faults.
 * A field left empty is not sent, so a fault changes only what the trainer typed.
 */

import { api } from '../api.js';
import { field, h, message, onSubmit, put, showError } from '../dom.js';

const REFRESH_MS = 5000;
const YES_NO = [['', '— unchanged —'], ['true', 'yes'], ['false', 'no']];

/** Each kind: its target (where the choices come from) and its fields [key, label, type, options]. */
export const KINDS = {
  ap: {
    target: 'ap',
    fields: [
      ['ssid', 'SSID', 'text'], ['password', 'Password', 'text'],
      ['security', 'Security', 'select', [['', '— unchanged —'], ['open', 'open'], ['wpa2', 'WPA2'], ['wpa2-wpa3', 'WPA2/WPA3'], ['wpa3-only', 'WPA3 only']]],
      ['band', 'Band (GHz)', 'select', [['', '— unchanged —'], ['2.4', '2.4'], ['5', '5']]],
      ['channel', 'Channel', 'int'], ['country', 'Country (2 letters)', 'text'],
      ['position', 'Position x, y (m)', 'position'], ['tx_power_dbm', 'Transmit power (dBm)', 'number'],
      ['enabled', 'Switched on', 'bool'],
    ],
  },
  cell: {
    target: 'cell',
    fields: [
      ['bands', 'LTE bands (comma-separated)', 'intlist'], ['position', 'Position x, y (m)', 'position'],
      ['tx_power_dbm', 'Transmit power (dBm)', 'number'], ['operator', 'Operator', 'text'], ['enabled', 'Switched on', 'bool'],
    ],
  },
  sim: {
    target: 'sim',
    fields: [
      ['state', 'SIM state', 'select', [['', '— unchanged —'], ['absent', 'absent (no SIM)'], ['ok', 'ok'], ['pin_required', 'PIN required'],
        ['pin_wrong', 'PIN wrong (rejects any PIN)'], ['puk_locked', 'PUK locked'], ['dead', 'dead'], ['incompatible', 'incompatible']]],
      ['iccid', 'ICCID (18–22 digits; a new one is a swap)', 'text'], ['pin', 'SIM PIN', 'text'], ['operator', 'Home operator', 'text'],
      ['apn', 'APN the network supplies', 'text'], ['apn_required', 'APN required', 'bool'], ['roaming_allowed', 'Roaming allowed', 'bool'],
      ['credit_mb', 'Data credit (MB)', 'number'], ['imei_blocked', 'IMEI blocked', 'bool'], ['activated', 'Activated by the operator', 'bool'],
    ],
  },
  link: {
    target: 'camera',
    fields: [
      ['latency_ms', 'Extra latency (ms)', 'number'], ['loss', 'Loss (0–1)', 'number'],
      ['bandwidth_kbps', 'Bandwidth cap (kbit/s)', 'number'], ['up', 'Link up', 'bool'],
    ],
  },
  clock_skew: { target: 'camera', fields: [['seconds', 'Camera clock offset (s)', 'number']] },
  ntp: {
    target: null,
    fields: [
      ['offset_s', 'NTP offset (s)', 'number'],
      ['mode', 'NTP server', 'select', [['', '— unchanged —'], ['serve', 'serve'], ['outage', 'outage (no answer)'], ['kiss-o-death', "kiss-o'-death"]]],
      ['kiss_code', "Kiss code", 'select', [['', '— unchanged —'], ['RATE', 'RATE'], ['DENY', 'DENY'], ['RSTR', 'RSTR']]],
    ],
  },
  travel: { target: null, fields: [['seconds', 'Travel forward (s)', 'number']] },
};

function targets(kind, listing, serials) {
  const world = listing.world || {};
  const which = KINDS[kind].target;
  if (which === 'ap') return (world.access_points || []).map((a) => [a.name, `${a.name} (${a.ssid}, ${a.band} GHz, ch ${a.channel})`]);
  if (which === 'cell') return (world.cells || []).map((c) => [c.name, `${c.name} (bands ${c.bands.join(', ')})`]);
  if (which === 'sim') return Object.keys(world.sims || {}).map((s) => [s, s]);
  if (which === 'camera') return serials().map((s) => [s, s]);
  return [];
}

function inputFor([key, label, type, options]) {
  const name = `set.${key}`;
  if (type === 'select' || type === 'bool') {
    return field(label, h('select', { name }, (type === 'bool' ? YES_NO : options).map(([v, t]) => h('option', { value: v }, t))));
  }
  if (type === 'int' || type === 'number') return field(label, h('input', { type: 'number', step: type === 'int' ? '1' : 'any', name }));
  return field(label, h('input', { name, autocomplete: 'off', placeholder: type === 'position' ? '120, 40' : null }));
}

function parseValue(type, text, label) {
  const value = text.trim();
  if (type === 'number' || type === 'int') {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new Error(`${label}: expected a number`);
    return n;
  }
  if (type === 'bool') return value === 'true';
  if (type === 'position') {
    const parts = value.split(/[,\s]+/).filter(Boolean).map(Number);
    if (parts.length !== 2 || parts.some((n) => !Number.isFinite(n))) throw new Error(`${label}: expected two numbers, x and y in metres`);
    return parts;
  }
  if (type === 'intlist') {
    const parts = value.split(/[,\s]+/).filter(Boolean).map(Number);
    if (!parts.length || parts.some((n) => !Number.isInteger(n))) throw new Error(`${label}: expected whole numbers separated by commas`);
    return parts;
  }
  return value;
}

/** The changes typed into the form, as the API's ``set`` mapping (empty fields left out). */
export function changesOf(kind, v) {
  const set = {};
  for (const [key, label, type] of KINDS[kind].fields) {
    const text = v[`set.${key}`];
    if (text === undefined || String(text).trim() === '') continue;
    set[key] = parseValue(type, String(text), label);
  }
  return set;
}

/**
 * The faults card. `serials()` lists the running cameras; `onChange()` runs after every change
 * (the cameras' diagnosis is then refreshed); `systemsBox` shows the per-system diagnosis.
 */
export function faultsCard({ serials, onChange, systemsBox }) {
  const list = h('div', { class: 'fault-list', 'aria-live': 'polite' }, message('info', 'Loading…'));
  const blockedBox = h('div', { class: 'blocked-hosts' });
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  const kindSelect = h('select', { name: 'kind' }, Object.keys(KINDS).map((k) => h('option', { value: k }, k)));
  const targetBox = h('div');
  const fieldsBox = h('div', { class: 'fault-fields' });
  const hint = h('p', { class: 'hint' });
  let listing = { faults: [], kinds: {}, world: {}, blocked_hosts: [] };
  let known = [];

  const form = h('form', { 'aria-label': 'Inject a fault' },
    h('h3', {}, 'Inject a fault'),
    field('Fault kind', kindSelect), hint, targetBox, fieldsBox,
    h('button', { type: 'submit', class: 'primary' }, 'Inject'));

  function drawForm() {
    const kind = kindSelect.value;
    hint.textContent = listing.kinds[kind] || '';
    const choices = targets(kind, listing, serials);
    put(targetBox, KINDS[kind].target
      ? field('Target', h('select', { name: 'target', required: true },
        choices.length ? choices.map(([v, t]) => h('option', { value: v }, t)) : h('option', { value: '' }, '— none in the running lab —')))
      : null);
    put(fieldsBox, KINDS[kind].fields.map((f) => inputFor(f)));
  }
  kindSelect.addEventListener('change', drawForm);

  onSubmit(form, out, async (v) => {
    const kind = v.kind;
    const body = { kind, set: changesOf(kind, v) };
    if (KINDS[kind].target) body.target = v.target;
    if (!Object.keys(body.set).length) throw new Error('Type at least one change for the fault.');
    const fault = await api('/api/lab/faults', { method: 'POST', body });
    put(out, message('ok', `Fault ${fault.id} injected: ${fault.summary}`));
    await refresh();
    onChange();
  });

  async function clear(id) {
    put(out);
    try {
      const r = await api(id ? `/api/lab/faults/${encodeURIComponent(id)}` : '/api/lab/faults', { method: 'DELETE' });
      put(out, message('ok', r.cleared.length ? `Cleared ${r.cleared.join(', ')}.` : 'No fault to clear.'));
      await refresh();
      onChange();
    } catch (err) {
      showError(out, err);
    }
  }

  async function block(name, blocked) {
    put(out);
    try {
      await api('/api/lab/faults/blocked-hosts', { method: blocked ? 'POST' : 'DELETE', body: { hostname: name } });
      put(out, message('ok', `${name} ${blocked ? 'blocked' : 'answers again'}.`));
      await refresh();
      onChange();
    } catch (err) {
      showError(out, err);
    }
  }

  function drawList() {
    const faults = listing.faults;
    put(list, faults.length ? h('table', { 'aria-label': 'Active faults' },
      h('thead', {}, h('tr', {}, ['Id', 'Kind', 'Target', 'Change', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, faults.map((f) => h('tr', { class: 'fault', dataset: { fault: f.id, kind: f.kind } },
        h('td', { class: 'mono' }, f.id), h('td', {}, f.kind), h('td', {}, f.target || 'whole lab'),
        h('td', { class: 'mono' }, Object.entries(f.set).map(([k, val]) => `${k}=${JSON.stringify(val)}`).join(', ')),
        h('td', {}, f.reversible ? h('button', { type: 'button', class: 'small', 'aria-label': `Clear fault ${f.id}`, onclick: () => clear(f.id) }, 'Clear')
          : h('small', { class: 'hint' }, 'lab time never goes back')))))) : h('p', { class: 'empty' }, 'No fault injected.'),
    faults.length ? h('button', { type: 'button', onclick: () => clear(null) }, 'Clear all faults') : null);
    const blocked = new Set(listing.blocked_hosts || []);
    const pick = h('select', { 'aria-label': 'Host name to block' }, known.filter((n) => !blocked.has(n)).map((n) => h('option', { value: n }, n)));
    put(blockedBox, h('h3', {}, 'Blocked host names (T5)'),
      blocked.size ? h('ul', { class: 'list' }, [...blocked].map((n) => h('li', { class: 'row' }, h('span', { class: 'mono' }, n),
        h('button', { type: 'button', class: 'small', 'aria-label': `Unblock ${n}`, onclick: () => block(n, false) }, 'Unblock'))))
        : h('p', { class: 'empty' }, 'Every host name answers.'),
      h('div', { class: 'row' }, pick, h('button', { type: 'button', onclick: () => pick.value && block(pick.value, true) }, 'Block')));
  }

  async function refresh() {
    try {
      const [faults, hosts] = await Promise.all([api('/api/lab/faults'), known.length ? null : api('/api/lab/faults/blocked-hosts')]);
      if (hosts) known = hosts.known;
      const kindsChanged = JSON.stringify(Object.keys(faults.kinds)) !== JSON.stringify(Object.keys(listing.kinds));
      const worldChanged = JSON.stringify(faults.world) !== JSON.stringify(listing.world);
      listing = faults;
      drawList();
      if (kindsChanged || worldChanged) {
        const values = new Map([...fieldsBox.querySelectorAll('[name]')].map((el) => [el.name, el.value]));
        const target = targetBox.querySelector('select') && targetBox.querySelector('select').value;
        drawForm();
        for (const el of fieldsBox.querySelectorAll('[name]')) if (values.has(el.name)) el.value = values.get(el.name);
        if (target && targetBox.querySelector('select')) targetBox.querySelector('select').value = target;
      }
    } catch (err) {
      showError(list, err);
    }
  }

  drawForm();
  refresh();
  const timer = setInterval(() => { if (!section.isConnected) clearInterval(timer); else refresh(); }, REFRESH_MS);
  const section = h('section', { class: 'card faults', 'aria-labelledby': 'h-faults' },
    h('h2', { id: 'h-faults' }, 'Faults'),
    h('p', { class: 'hint' }, 'Inject any cause of the manual’s troubleshooting tables into the running lab (L2); clearing a fault restores the world exactly.'),
    h('div', { class: 'columns' }, h('div', {}, h('h3', {}, 'Active faults'), list, blockedBox), form), systemsBox, out);
  return { el: section, refresh };
}
