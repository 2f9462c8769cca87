/**
 * The Lab panel (trainers; SPEC L2, L3, L4, D3, D5, D6, T1): every camera of the lab drawn as a
 * device — its record, function and top buttons with press, double press and long press, its
 * LEDs or its screen, vibration, dock and undock, clock skew — live from the lab's events
 * WebSocket, with its radio status, its troubleshooting pages (W102/W120), its diagnosis and its
 * pcap, and its health as the device hub last heard it (issue 16 item 5: battery, storage, signal,
 * temperature, last contact and warnings, as in Live); the faults injected into the lab; and lab
 * time travel. Everything goes through /api/lab
 * with the lab token.
 */

import { LiveSocket, api, labClock } from '../api.js';
import { dateTime, field, h, message, onSubmit, put, showError } from '../dom.js';
import { healthCells, healthWarnings, warningCodes } from '../health.js';
import { faultsCard } from './faults.js';
import { TroubleshootingView, diagnosisView, pcapLink, radioView, systemsDiagnosisView } from './network.js';
import { speakerView } from './speaker.js';

const main = document.getElementById('main');
const who = document.getElementById('who');
const BUTTONS = [['record', 'Record button'], ['function', 'Function button'], ['top', 'Top button']];
const GESTURES = [['press', 'Press'], ['double', 'Double'], ['long', 'Long']];
const cards = new Map(); // serial → {el, info, state, parts}
const DIAGNOSIS_EVERY_MS = 5000;
const DIAGNOSIS_DEBOUNCE_MS = 300;
const DIAGNOSIS_MIN_GAP_MS = 1000;
const HEALTH_EVERY_MS = 5000; // cameras report their health every few seconds (bwlab/wire/health.py)
let socket = null;
let systemsBox = null;
const diagnosis = { timer: null, running: false, again: false, lastAt: 0 };

/** Read the diagnosis of the whole lab soon: once per burst of state reports, at most once a second. */
function scheduleDiagnosis() {
  if (diagnosis.timer) return;
  const wait = Math.max(DIAGNOSIS_DEBOUNCE_MS, diagnosis.lastAt + DIAGNOSIS_MIN_GAP_MS - performance.now());
  diagnosis.timer = setTimeout(() => {
    diagnosis.timer = null;
    refreshDiagnosis();
  }, wait);
}

async function refreshDiagnosis() {
  if (diagnosis.running) {
    diagnosis.again = true;
    return;
  }
  diagnosis.running = true;
  diagnosis.lastAt = performance.now();
  try {
    const answer = await api('/api/lab/diagnosis');
    for (const cam of answer.cameras) {
      const c = cards.get(cam.serial);
      if (!c) continue;
      c.el.dataset.findings = cam.codes.join(' ');
      put(c.parts.diagnosis, diagnosisView(cam));
    }
    if (systemsBox) put(systemsBox, systemsDiagnosisView(answer.systems));
  } catch (err) {
    if (systemsBox) showError(systemsBox, err);
  } finally {
    diagnosis.running = false;
    if (diagnosis.again) {
      diagnosis.again = false;
      scheduleDiagnosis();
    }
  }
}

function signInView(error) {
  const out = h('div', { class: 'out' });
  if (error) put(out, message('error', error.message, error.code));
  const form = h('form', { 'aria-label': 'Lab sign-in' },
    field('Lab token', h('input', { type: 'password', name: 'token', required: true, autocomplete: 'off' })),
    h('p', { class: 'hint' }, 'The token that `bwlab up` printed (also in the data directory, file lab-token).'),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  onSubmit(form, out, async ({ token }) => {
    await api('/api/lab/login', { method: 'POST', body: { token: token.trim() } });
    await start();
  });
  put(main, h('section', { class: 'card narrow', 'aria-labelledby': 'h-lab-sign-in' }, h('h2', { id: 'h-lab-sign-in' }, 'Sign in to the lab'), form, out));
}

async function start() {
  let status;
  try {
    status = await api('/api/lab/status');
  } catch (err) {
    if (err.status === 401 || err.status === 403) return signInView(err.status === 403 ? err : null);
    return put(main, message('error', err.message, err.code));
  }
  await labClock.sync().catch(() => {});
  const timeOut = h('output', { class: 'lab-time' });
  const travelOut = h('div', { class: 'out', 'aria-live': 'polite' });
  const unit = h('select', { name: 'unit' }, h('option', { value: '60' }, 'minutes'), h('option', { value: '3600' }, 'hours'),
    h('option', { value: '86400', selected: true }, 'days'));
  const travel = h('form', { class: 'row', 'aria-label': 'Time travel' },
    field('Travel forward by', h('input', { type: 'number', name: 'amount', min: '0', step: 'any', value: '1', required: true })),
    field('Unit', unit), h('button', { type: 'submit' }, 'Travel'));
  onSubmit(travel, travelOut, async (v) => {
    const seconds = Number(v.amount) * Number(v.unit);
    const r = await api('/api/lab/time/travel', { method: 'POST', body: { seconds } });
    labClock.offset = r.offset;
    scheduleDiagnosis();
    put(travelOut, message('ok', `Lab time is now ${dateTime(r.lab_time)} (${Math.round(r.offset)} s ahead of real time).`));
  });
  const devices = h('div', { class: 'devices', id: 'devices' });
  systemsBox = h('div', { class: 'systems-diagnosis', 'aria-live': 'polite' });
  const faults = faultsCard({ serials: () => [...cards.keys()], onChange: scheduleDiagnosis, systemsBox });
  put(main,
    h('section', { class: 'card', 'aria-labelledby': 'h-time' }, h('h2', { id: 'h-time' }, 'Lab time'), timeOut,
      h('p', { class: 'hint' }, 'Time travel moves the whole lab forward (certificates, retention, sessions, licences); it never goes back.'),
      travel, travelOut),
    faults.el,
    h('section', { 'aria-labelledby': 'h-cams' }, h('h2', { id: 'h-cams' }, 'Cameras'), devices));
  put(who, h('span', {}, status.systems.map((s) => `${s.name}${s.connected ? '' : ' (not connected)'}`).join(', ')));
  const tick = () => { timeOut.textContent = `${dateTime(labClock.now())} UTC · offset ${Math.round(labClock.offset)} s`; };
  tick();
  setInterval(tick, 1000);
  setInterval(() => labClock.sync().catch(() => {}), 10000);
  cards.clear();
  for (const system of status.systems) {
    for (const cam of system.cameras) devices.append(card({ ...cam, system: system.name }).el);
  }
  if (socket) socket.close();
  socket = new LiveSocket('/api/lab/events', {
    onJson: (msg) => {
      if (msg.type !== 'state') return;
      const c = cards.get(msg.serial);
      if (c) update(c, msg.state);
      scheduleDiagnosis();
    },
  });
  setInterval(() => { for (const c of cards.values()) drawVibration(c); }, 200);
  setInterval(scheduleDiagnosis, DIAGNOSIS_EVERY_MS);
  refreshDiagnosis();
  drawHealth(status);
  setInterval(refreshHealth, HEALTH_EVERY_MS);
}

/** Issue 16 item 5: each camera's health, from the lab status (what `bwlab status` prints too). */
async function refreshHealth() {
  try {
    drawHealth(await api('/api/lab/status'));
  } catch (err) {
    console.warn('camera health:', err.message);
  }
}

function drawHealth(status) {
  for (const system of status.systems) {
    for (const cam of system.cameras) {
      const c = cards.get(cam.serial);
      if (c) put(c.parts.health, healthView(cam));
    }
  }
}

function healthView(cam) {
  const r = cam.health;
  if (!r) return h('p', { class: 'hint' }, 'Health: no report from this camera yet.');
  const name = cam.camera_user || cam.serial;
  return h('div', { class: 'health-lab', dataset: { warnings: warningCodes(r) } },
    h('dl', { class: 'health-list', 'aria-label': `Health of ${name}` }, healthCells(r, { name, online: cam.online }).map((cell) => [
      h('dt', {}, cell.label), h('dd', { class: cell.warn ? 'warn' : '', dataset: cell.dataset }, cell.content)])),
    healthWarnings(r));
}

function card(info) {
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  const parts = {
    body: h('div', { class: 'camera-body', role: 'img', 'aria-label': `Camera ${info.serial}` }),
    stateLine: h('p', { class: 'state-line' }),
    vibration: h('p', { class: 'vibration', 'aria-live': 'polite' }),
    speaker: h('div', { class: 'speaker-box', 'aria-live': 'polite' }), // talk-back (issue 16 item 3)
    health: h('div', { class: 'health-box' }), // issue 16 item 5
    dock: h('button', { type: 'button', onclick: () => act(c, { action: c.state && c.state.docked ? 'undock' : 'dock' }) }, 'Dock'),
    skew: h('input', { type: 'number', name: 'skew', step: 'any', value: '0', 'aria-label': `Clock skew of ${info.serial} in seconds` }),
    radio: h('div', { class: 'radio-box' }),
    pcap: pcapLink(info.serial),
    diagnosis: h('div', { class: 'diagnosis', 'aria-live': 'polite' }),
    troubleshooting: new TroubleshootingView(info.serial),
    assistant: assistantForm(info.serial, (body) => act(c, body)),
    out,
  };
  const buttons = h('div', { class: 'buttons', role: 'group', 'aria-label': 'Buttons' }, BUTTONS.map(([button, label]) =>
    h('div', { class: 'hw' }, h('span', {}, label), GESTURES.map(([gesture, glabel]) => h('button', {
      type: 'button', class: 'small', 'aria-label': `${label}: ${glabel.toLowerCase()} press`.replace('press press', 'press'),
      dataset: { button, gesture }, onclick: () => act(c, { action: 'press', button, gesture }),
    }, glabel)))));
  const el = h('article', { class: 'device', dataset: { serial: info.serial }, 'aria-label': `${info.camera_user || 'Unassigned'} (${info.serial})` },
    h('h3', {}, info.camera_user || 'Unassigned', h('small', {}, ` ${info.model} · ${info.serial}`)),
    parts.body, parts.vibration, parts.speaker, parts.stateLine, parts.health, parts.radio, buttons,
    h('div', { class: 'row' }, parts.dock,
      h('label', { class: 'row' }, 'Skew (s)', parts.skew),
      h('button', { type: 'button', class: 'small', onclick: () => act(c, { action: 'skew', seconds: Number(parts.skew.value) || 0 }) }, 'Set clock'),
      parts.pcap),
    parts.assistant, out, parts.troubleshooting.el, parts.diagnosis);
  const c = { el, info, state: null, parts };
  parts.troubleshooting.onDraw = () => drawFace(c);
  cards.set(info.serial, c);
  update(c, null);
  return c;
}

/** What the camera user does in the Assistant app (issue 13): a bookmark, the recording's category. */
function assistantForm(serial, send) {
  const text = h('input', { name: 'text', maxlength: 1024, 'aria-label': `Bookmark text for ${serial}` });
  const catId = h('input', { name: 'category_id', maxlength: 64, size: 4, 'aria-label': `Category ID for ${serial}` });
  const catName = h('input', { name: 'category_name', maxlength: 64, 'aria-label': `Category name for ${serial}` });
  return h('details', { class: 'assistant' }, h('summary', {}, 'Assistant app: bookmark and category'),
    h('div', { class: 'row' }, text, h('button', { type: 'button', class: 'small', onclick: () => send({ action: 'bookmark', text: text.value }) }, 'Add bookmark')),
    h('div', { class: 'row' }, catId, catName, h('button', { type: 'button', class: 'small',
      onclick: () => send({ action: 'category', category_id: catId.value, category_name: catName.value }) }, 'Set category')));
}

function storageText(st) {
  if (!st) return '';
  const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
  const moving = st.offload && st.offload.active ? `, moving ${mb(st.offload.sent_bytes)} of ${mb(st.offload.total_bytes)} to the controller` : '';
  return ` · storage ${mb(st.used)} of ${(st.capacity / 1e9).toFixed(0)} GB${st.full ? ' FULL' : ''}, ${st.recordings} recording${st.recordings === 1 ? '' : 's'}${moving}`;
}

async function act(c, body) {
  put(c.parts.out);
  try {
    // The new state arrives on the events socket, in order; the reply's copy may be older.
    await api(`/api/lab/cameras/${c.info.serial}/actions`, { method: 'POST', body });
  } catch (err) {
    showError(c.parts.out, err);
  }
}

function update(c, state) {
  if (state) c.state = state;
  const s = c.state;
  const { stateLine, dock } = c.parts;
  const running = Boolean(s);
  for (const b of c.el.querySelectorAll('button')) b.disabled = !running;
  c.el.dataset.running = String(running);
  c.parts.pcap.hidden = !running;
  c.parts.troubleshooting.update(s);
  if (!s) {
    drawFace(c);
    put(stateLine, 'No fleet runs this camera: start one with `bwlab fleet`.');
    return;
  }
  c.el.dataset.recording = String(Boolean(s.recording));
  c.el.dataset.streaming = s.streaming || 'off';
  c.el.dataset.docked = String(Boolean(s.docked));
  drawFace(c);
  put(c.parts.radio, radioView(s));
  put(c.parts.speaker, speakerView(s.speaker));
  put(stateLine,
    `${s.recording ? 'Recording' : 'Not recording'} · stream ${s.streaming || 'off'}`, storageText(s.storage),
    s.acknowledged_by ? ` · acknowledged by ${s.acknowledged_by}` : '',
    s.help ? h('span', { class: 'help-state', dataset: { help: s.help.id } }, s.help.acknowledged_by
      ? ` · help request acknowledged by ${s.help.acknowledged_by}` : ' · HELP requested, waiting for an operator') : '',
    s.last_error ? h('span', { class: 'reason' }, ` · ${s.last_error.message}`) : '',
    ignoredPress(s.last_press));
  dock.textContent = s.docked ? 'Undock' : 'Dock';
  dock.setAttribute('aria-label', `${s.docked ? 'Undock' : 'Dock'} camera ${c.info.serial}`);
  drawVibration(c);
}

/** A press that did nothing says why (the firmware's reason), until the next press. */
function ignoredPress(press) {
  if (!press || !press.ignored) return '';
  const gesture = press.gesture === 'press' ? 'press' : `${press.gesture} press`;
  return h('span', { class: 'reason ignored-press', dataset: { code: press.ignored.code } },
    ` · the last ${press.button} ${gesture} did nothing: ${press.ignored.message}`);
}

/** The device itself: LEDs or screen (with the troubleshooting page on it), lens, dock state. */
function drawFace(c) {
  const s = c.state;
  const { body } = c.parts;
  if (!s) {
    put(body, h('div', { class: 'lens' }), h('p', { class: 'hint' }, 'Not running'));
    return;
  }
  body.classList.toggle('docked', Boolean(s.docked));
  const leds = s.leds || {};
  let face;
  if (s.screen) {
    const sc = s.screen;
    face = h('div', { class: 'camera-screen', 'aria-label': 'Screen' },
      h('div', { class: 'icons' },
        h('span', { dataset: { on: sc.record_icon ? 'red' : 'off' } }, sc.record_icon ? '● REC' : ''),
        sc.stream_icon ? h('span', { dataset: { on: sc.stream_icon } }, `((•)) ${sc.stream_icon === 'visible' ? '' : sc.stream_icon}`) : null,
        sc.weak_signal ? h('span', { class: 'weak-signal', role: 'img', 'aria-label': 'Weak Wi-Fi signal', title: 'Weak Wi-Fi signal (T3 row 4)' }, [1, 2, 3, 4].map((n) => h('i', { class: `bar bar-${n}` })), '!') : null,
        sc.charging ? h('span', {}, '⚡') : null),
      sc.warnings && sc.warnings.length ? h('div', {}, `⚠ ${sc.warnings.join(', ')}`) : null,
      sc.message ? h('div', {}, sc.message) : null,
      sc.troubleshooting_page ? (c.parts.troubleshooting.screenLines(sc.troubleshooting_page) || h('div', {}, `Troubleshooting page ${sc.troubleshooting_page}`)) : null);
    body.classList.toggle('troubleshooting', Boolean(sc.troubleshooting_page));
  } else {
    face = h('div', { class: 'leds' },
      h('span', { class: 'led', dataset: { led: 'record', color: leds.record || 'off' }, 'aria-label': `Recording LED ${leds.record || 'off'}` }, 'REC'),
      h('span', { class: 'led', dataset: { led: 'wifi', color: leds.wifi || 'off' }, 'aria-label': `Wi-Fi LED ${leds.wifi || 'off'}` }, 'Wi-Fi'));
  }
  put(body, face, h('div', { class: 'lens' }), h('div', { class: 'hint' }, s.docked ? `Docked · ${s.bay}` : 'Out of dock'));
}

function drawVibration(c) {
  const until = c.state && c.state.vibrating_until;
  const vibrating = Boolean(until) && until > labClock.now();
  const pattern = vibrating ? (c.state.vibration || '') : ''; // issue 16: the help pattern is its own
  if (c.parts.body.classList.contains('vibrating') === vibrating && c.el.dataset.vibration === pattern) return;
  c.parts.body.classList.toggle('vibrating', vibrating);
  c.el.dataset.vibrating = String(vibrating);
  c.el.dataset.vibration = pattern;
  c.parts.vibration.textContent = !vibrating ? '' : pattern === 'help_acknowledged'
    ? 'Vibrating: help request acknowledged (three long pulses)' : 'Vibrating';
}

start();
