/**
 * The lab network as the Lab panel shows it per camera (SPEC T1, L3, L4; DESIGN "Lab network"):
 *
 * - the radio status from the camera state's ``radio`` sub-dict (events WebSocket): mode WLAN or
 *   LTE, the SSID and access point or the cell and SIM, the signal in dB;
 * - the troubleshooting screen of a W102/W120 in troubleshooting mode (T1): the four pages with
 *   the manual's fields from GET /api/lab/cameras/{serial}/troubleshooting, the camera's current
 *   page marked, re-read whenever the camera reports a change (a press of the top button);
 * - the diagnosis (L3): each finding's symptom, cause and fix from GET /api/lab/diagnosis, with a
 *   link to the system's Manager naming the screen the fix is made in;
 * - the pcap of the camera's emulated 802.11 management frames (L4);
 * - on the real lab network, its address, MAC, namespace and unreached T5 names (issue 15).
 */

import { api } from '../api.js';
import { h, message, put } from '../dom.js';

/** The radio status line of one camera (empty when the camera does not report one). */
export function radioView(state) {
  const radio = state && state.radio;
  if (!radio) return [];
  const wifi = radio.wifi || null;
  const mobile = radio.mobile || null;
  const mode = radio.mode || (radio.network && radio.network.mode) || 'WLAN';
  const up = Boolean(radio.network && radio.network.up);
  let where;
  let signal = null;
  if (mode === 'LTE' && mobile) {
    where = [mobile.cell ? `cell ${mobile.cell}` : 'no cell', mobile.operator ? ` (${mobile.operator})` : '',
      ` · SIM ${mobile.sim_status || '—'}`, mobile.ipv4 ? ` · ${mobile.ipv4}` : ''].join('');
    signal = mobile.signal_db;
  } else if (wifi) {
    where = wifi.ssid ? `${wifi.ssid}${wifi.ap ? ` via ${wifi.ap}` : ''}${wifi.band ? ` (${wifi.band} GHz, ch ${wifi.channel})` : ''}`
      : 'no network';
    if (wifi.failure) where += ` · ${wifi.failure.replaceAll('_', ' ')}`;
    signal = wifi.signal_db;
  } else {
    where = up ? 'ideal network (no radio model)' : 'no network';
  }
  const weak = Boolean(wifi && wifi.weak_signal && mode !== 'LTE');
  return h('dl', { class: 'radio', dataset: { mode, up: String(up), signal: signal === null || signal === undefined ? '' : String(signal) },
    'aria-label': 'Radio status' },
  h('dt', {}, 'Mode'), h('dd', { class: 'radio-mode' }, `${mode} · ${up ? 'up' : 'down'}`),
  h('dt', {}, mode === 'LTE' ? 'Mobile' : 'SSID / AP'), h('dd', { class: 'radio-where' }, where),
  h('dt', {}, 'Signal'), h('dd', { class: 'radio-signal' }, signal === null || signal === undefined ? '—' : `${signal} dB${weak ? ' (weak)' : ''}`),
  ...lanView(radio));
}

/** On the real lab network (docs/network.md): the camera's address, MAC and namespace, and the
 * T5 host names it could not reach, as it observed them. */
function lanView(radio) {
  const lan = radio.lan;
  if (!lan) return [];
  const failed = Object.entries(radio.services || {}).filter(([, seen]) => seen && seen.ok === false)
    .map(([name, seen]) => `${name} (${seen.error})`);
  return [h('dt', {}, 'Lab network'), h('dd', { class: 'radio-lan' }, `${lan.ip} · ${lan.mac || '—'} · ${lan.netns || '—'}`),
    h('dt', {}, 'Host names'), h('dd', { class: 'radio-hosts' }, failed.length ? `not reached: ${failed.join(', ')}` : 'all reached')];
}

/** The pcap download link (L4): a plain link the browser saves; no pop-up. */
export function pcapLink(serial) {
  const a = h('a', { href: `/api/lab/cameras/${encodeURIComponent(serial)}/pcap`, class: 'pcap', 'aria-label': `pcap of camera ${serial}` }, 'pcap');
  a.setAttribute('download', `${serial}-80211.pcap`);
  a.title = 'The camera’s emulated 802.11 management frames, for Wireshark (L4)';
  return a;
}

/**
 * The troubleshooting screen of one camera (T1). `update(state)` after each state report: when
 * the camera is in the mode, the pages are read again (the fields and the page may have changed).
 */
export class TroubleshootingView {
  constructor(serial) {
    this.serial = serial;
    this.el = h('div', { class: 'troubleshooting', hidden: true, 'aria-live': 'polite' });
    this.seq = 0;
    this.timer = null;
    this.pages = null;
    this.onDraw = null; // redraws the camera's own screen
  }

  update(state) {
    const mode = (state && state.troubleshooting) || {};
    clearTimeout(this.timer);
    if (!mode.active) {
      this.seq += 1;
      this.pages = null;
      this.el.hidden = true;
      delete this.el.dataset.page;
      put(this.el);
      if (this.onDraw) this.onDraw();
      return;
    }
    this.timer = setTimeout(() => this.load(), 60);
  }

  async load() {
    const seq = ++this.seq;
    let answer;
    try {
      answer = await api(`/api/lab/cameras/${encodeURIComponent(this.serial)}/troubleshooting`);
    } catch (err) {
      if (seq !== this.seq) return;
      this.el.hidden = false;
      put(this.el, message(err.code === 'troubleshooting_not_active' ? 'info' : 'error', err.message, err.code));
      return;
    }
    if (seq !== this.seq) return;
    this.pages = answer;
    this.draw();
    if (this.onDraw) this.onDraw();
  }

  /** The lines of page `number` (the one the camera shows), for the camera's own screen. */
  screenLines(number) {
    if (!this.pages) return null;
    const page = this.pages.pages.find((p) => p.number === number);
    if (!page) return null;
    return [h('div', { class: 'ts-title' }, `${page.number}/4 ${page.title}`),
      page.fields.map((f) => h('div', { class: 'ts-line' }, `${f.label}: ${f.value === null ? '' : f.value}`))];
  }

  draw() {
    const { pages, page } = this.pages;
    this.el.hidden = false;
    this.el.dataset.page = String(page);
    put(this.el,
      h('h4', {}, `Troubleshooting mode · page ${page} of ${pages.length}`),
      h('p', { class: 'hint' }, 'Top button: press for the next page; hold 5 s to leave.'),
      h('ol', { class: 'ts-pages' }, pages.map((p) => h('li', {
        class: 'ts-page', dataset: { page: String(p.number) }, 'aria-current': p.number === page ? 'step' : null,
      }, h('strong', {}, `${p.number}. ${p.title}`),
      h('dl', {}, p.fields.map((f) => [
        h('dt', { title: f.label_fr, dataset: { field: f.key } }, f.label),
        h('dd', { dataset: { field: f.key } }, f.value === null ? '—' : f.value)]))))));
  }
}

/** Where the fix is made in AXIS Body Worn Manager, as a link to that system's Manager (L3). */
function managerLinks(f, systemId) {
  if (!f.manager || !f.manager.length || !systemId) return null;
  return h('div', { class: 'manager-path' }, h('strong', {}, 'In the Manager: '), f.manager.map((m, i) => [i ? ' · ' : null,
    h('a', { href: `/manager/#${encodeURIComponent(systemId)}`, target: '_self' }, m.menu.join(' > '))]));
}

/** What the diagnosis saw to name a finding (issue 14): where, and what. */
function evidenceView(f) {
  const seen = f.evidence || [];
  return seen.length ? h('ul', { class: 'evidence' }, seen.map((e) => h('li', {}, h('strong', {}, `${e.source}: `), e.observation))) : null;
}

/** The diagnosis of one camera (L3): each finding with the manual's symptom, cause, fix and evidence. */
export function diagnosisView(diag) {
  if (!diag) return [];
  const findings = diag.findings || [];
  return [h('h4', {}, 'Diagnosis'),
    findings.length ? h('ul', { class: 'findings' }, findings.map((f) => h('li', { class: 'finding', dataset: { code: f.code } },
      h('div', {}, h('span', { class: 'code' }, f.code), f.lab_derived ? h('small', { class: 'hint' }, ' (lab-derived)') : null),
      h('div', { class: 'symptom' }, h('strong', {}, 'Symptom: '), f.symptom),
      h('div', { class: 'cause' }, h('strong', {}, 'Cause: '), f.cause),
      h('div', { class: 'fix' }, h('strong', {}, 'Fix: '), f.fix), evidenceView(f), managerLinks(f, diag.system_id))))
      : h('p', { class: 'empty no-findings' }, diag.reporting ? 'Nothing in the manual’s tables applies.' : 'Not reporting: no finding.')];
}

/** The per-system diagnosis (T2 row 1) for the faults card. */
export function systemsDiagnosisView(systems) {
  const withFindings = (systems || []).filter((s) => s.findings.length);
  if (!withFindings.length) return [];
  return [h('h3', {}, 'Systems'), h('ul', { class: 'findings' }, withFindings.flatMap((s) => s.findings.map((f) => h('li', { class: 'finding', dataset: { code: f.code, system: s.id } },
    h('div', {}, h('span', { class: 'code' }, f.code), ` ${s.name}`),
    h('div', { class: 'symptom' }, h('strong', {}, 'Symptom: '), f.symptom),
    h('div', { class: 'cause' }, h('strong', {}, 'Cause: '), f.cause),
    h('div', { class: 'fix' }, h('strong', {}, 'Fix: '), f.fix), evidenceView(f), managerLinks(f, s.id)))))];
}
