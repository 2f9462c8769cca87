/**
 * Alerts of the Live client (issue 16 items 1 and 2): a new stream and a camera user's help request.
 *
 * - **New stream**: when the events socket says a stream started, a banner names the camera user
 *   and why it started — the reason the camera sent in its stream start (record, stream button,
 *   remote start, help request), never guessed here — and stays until someone opens the stream
 *   or dismisses it. Optionally a sound (Settings > Alerts, off by default, kept in this browser)
 *   and a desktop notification (the Notification API; permission is asked only when the operator
 *   clicks the button in Settings, and never inside a frame: a VMS embedding Live gets no pop-ups).
 * - **Help request**: an urgent banner and a list at the top of Active streams, with the camera
 *   user's position opened in this browser (sealed for the system key like every position), until
 *   an operator acknowledges it — the camera then vibrates with the help pattern. On the map, an
 *   urgent marker at that position.
 */

import { h, message, put, showError, time } from '../dom.js';
import { HelpBook, HelpLayer, whereText } from '../help.js';

export const REASONS = {
  record: 'the record button (live stream on record)',
  function: 'the stream button on the camera',
  remote: 'a remote start from Live',
  help: 'a help request',
};
const SOUND_KEY = 'bwlab.alerts.sound';
const inFrame = () => window.top !== window;

function soundOn() {
  try {
    return localStorage.getItem(SOUND_KEY) === 'on';
  } catch {
    return false;
  }
}

let audio = null;

/** A short chime (two rising tones), or three urgent ones for a help request: WebAudio, no file. */
function chime(urgent) {
  try {
    audio = audio || new AudioContext();
    if (audio.state === 'suspended') audio.resume().catch(() => {});
    const tones = urgent ? [880, 660, 880, 660, 880] : [660, 880];
    tones.forEach((freq, i) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      const at = audio.currentTime + i * 0.18;
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.16);
      osc.connect(gain).connect(audio.destination);
      osc.start(at);
      osc.stop(at + 0.17);
    });
    document.body.dataset.alertSound = String(Number(document.body.dataset.alertSound || 0) + 1);
  } catch (err) {
    console.warn('alert sound:', err.message);
  }
}

/** A desktop notification, only with permission given and never inside a frame. */
function notify(title, body, tag, onclick) {
  if (inFrame() || !('Notification' in window) || Notification.permission !== 'granted') return false;
  const n = new Notification(title, { body, tag, requireInteraction: tag.startsWith('help') });
  n.onclick = () => {
    window.focus();
    onclick();
    n.close();
  };
  document.body.dataset.notifications = String(Number(document.body.dataset.notifications || 0) + 1);
  return true;
}

/**
 * The alert centre of one organization. `app` gives: org, keys, live (streams), openStream(stream),
 * showOnMap(help). `handle(event)` takes every message of the events socket.
 */
export class Alerts {
  constructor(app) {
    this.app = app;
    this.box = h('div', { id: 'alerts', 'aria-live': 'assertive' });
    document.getElementById('banner').after(this.box);
    this.banners = new Map(); // stream or help id → banner element
    this.seen = new Set();
    this.help = new HelpBook({ // open help requests, with their opened position (webui/js/help.js)
      orgId: () => this.app.org.id, keys: () => this.app.keys,
      onAdd: (entry, fresh) => this.helpAdded(entry, fresh), onRemove: (entry, help) => this.helpAcknowledged(help),
    });
    this.onHelpChange = null;
    this.layer = new HelpLayer({ acknowledge: (help) => this.help.acknowledge(help) });
  }

  /** Forget every banner and help request (sign out, another organization). */
  clear() {
    put(this.box);
    this.banners.clear();
    this.help.clear();
  }

  async start() {
    this.clear();
    await this.sync();
  }

  /** Read the help requests again (at start, and after the events socket reconnects). */
  async sync() {
    try {
      await this.help.sync();
    } catch (err) {
      console.warn('help requests:', err.message);
    }
  }

  handle(event) {
    if (event.type === 'stream_started') this.streamStarted(event.stream);
    else if (event.type === 'stream_ended') this.streamEnded(event.stream);
    else this.help.handle(event);
  }

  // ---- new streams (item 1)

  streamStarted(stream) {
    if (this.seen.has(stream.id)) return; // a resume after a restart announces it again
    this.seen.add(stream.id);
    const why = REASONS[stream.reason] || stream.reason;
    const text = `${stream.user_name} started a live stream`;
    const open = () => {
      this.close(stream.id);
      this.app.openStream(stream);
    };
    const el = h('div', { class: `alert alert-stream${stream.reason === 'help' ? ' alert-urgent' : ''}`, role: 'alert',
      dataset: { stream: stream.id, reason: stream.reason } },
    h('strong', {}, text), h('span', { class: 'alert-why' }, ` · started by ${why} · ${time(stream.started_at)}`),
    h('span', { class: 'alert-actions' },
      h('button', { type: 'button', class: 'small primary', onclick: open }, 'Open'),
      h('button', { type: 'button', class: 'small', onclick: () => this.close(stream.id) }, 'Dismiss')));
    this.show(stream.id, el);
    if (soundOn()) chime(stream.reason === 'help');
    notify(text, `Started by ${why}.`, `stream-${stream.id}`, open);
  }

  streamEnded(stream) {
    const el = this.banners.get(stream.id);
    if (el && !el.dataset.ended) {
      el.dataset.ended = 'true';
      el.querySelector('.alert-why').append(' · ended');
    }
  }

  // ---- help requests (item 2)

  helpAdded(entry, fresh) {
    const { help } = entry;
    const text = `HELP: ${help.user_name} asks for help`;
    this.show(help.id, this.helpBanner(entry));
    if (fresh) {
      if (soundOn()) chime(true);
      notify(text, `Requested at ${time(help.requested_at)}. Open Live to acknowledge.`, `help-${help.id}`,
        () => this.app.showOnMap(help));
    }
    this.changed();
  }

  helpAcknowledged(help) {
    const el = this.banners.get(help.id);
    if (el && !el.dataset.acknowledged) {
      el.classList.remove('alert-urgent');
      put(el, h('strong', {}, `${help.user_name}'s help request was acknowledged by ${help.acknowledged_by}`),
        h('span', { class: 'alert-why' }, ' · the camera vibrates'),
        h('span', { class: 'alert-actions' },
          h('button', { type: 'button', class: 'small', onclick: () => this.close(help.id) }, 'Dismiss')));
      el.dataset.acknowledged = 'true';
    }
    this.changed();
  }

  helpBanner(entry) {
    const { help } = entry;
    return h('div', { class: 'alert alert-help alert-urgent', role: 'alert', dataset: { help: help.id, user: help.user_id } },
      h('strong', {}, `HELP: ${help.user_name} asks for help`),
      h('span', { class: 'alert-why' }, ` · ${time(help.requested_at)} · ${whereText(entry)}`),
      this.helpActions(entry));
  }

  helpActions(entry) {
    const { help } = entry;
    const out = h('span', { class: 'ack-status' });
    const ack = h('button', { type: 'button', class: 'small primary', onclick: async () => {
      ack.disabled = true;
      try {
        await this.help.acknowledge(help);
      } catch (err) {
        showError(out, err);
        ack.disabled = false;
      }
    } }, 'Acknowledge');
    const stream = () => this.app.live.find((s) => s.user_id === help.user_id);
    return h('span', { class: 'alert-actions' }, ack,
      entry.position ? h('button', { type: 'button', class: 'small', onclick: () => this.app.showOnMap(help) }, 'Show on map') : null,
      h('button', { type: 'button', class: 'small', onclick: () => {
        const s = stream();
        if (s) this.app.openStream(s);
        else put(out, message('info', `${help.user_name} is not streaming now.`));
      } }, 'Open live'), out);
  }

  /** The open help requests, urgent, for the top of Active streams. */
  helpList() {
    const entries = [...this.help.entries.values()];
    if (!entries.length) return null;
    return h('ul', { class: 'list help-requests', 'aria-label': 'Help requests' }, entries.map((entry) => h('li', {
      class: 'help-request', dataset: { help: entry.help.id, user: entry.help.user_id } },
    h('strong', {}, `HELP · ${entry.help.user_name}`), h('small', {}, ` ${time(entry.help.requested_at)} · ${whereText(entry)}`),
    this.helpActions(entry))));
  }

  changed() {
    if (this.onHelpChange) this.onHelpChange();
    this.layer.draw(this.help.entries.values());
  }

  // ---- the map (item 2: the help request on the map, webui/js/help.js)

  attachMap(handle) {
    this.layer.attach(handle, this.help.entries.values());
  }

  centerOn(help) {
    this.layer.centerOn(help);
  }

  detachMap() {
    this.layer.detach();
  }

  // ---- banners

  show(id, el) {
    const old = this.banners.get(id);
    if (old) old.replaceWith(el);
    else if (el.classList.contains('alert-help')) this.box.prepend(el); // help requests first
    else this.box.append(el);
    this.banners.set(id, el);
  }

  close(id) {
    const el = this.banners.get(id);
    if (el) el.remove();
    this.banners.delete(id);
  }
}

/** Settings > Alerts: the sound (off by default) and the desktop notifications' permission. */
export function alertSettingsSection() {
  const sound = h('input', { type: 'checkbox', name: 'alert_sound' });
  sound.checked = soundOn();
  sound.addEventListener('change', () => {
    try {
      localStorage.setItem(SOUND_KEY, sound.checked ? 'on' : 'off');
    } catch { /* storage blocked (a frame of another site): the choice lasts for the page */ }
    if (sound.checked) chime(false); // a user gesture: the browser lets the page play sound from now on
  });
  const state = h('span', { class: 'notification-state' });
  const render = () => {
    if (inFrame()) {
      put(state, message('info', 'Live runs inside another page (a VMS): desktop notifications are off here — no pop-ups in frames.', 'notifications_in_frame'));
    } else if (!('Notification' in window)) {
      put(state, message('info', 'This browser has no desktop notifications.', 'notifications_unsupported'));
    } else if (Notification.permission === 'granted') {
      put(state, message('ok', 'Desktop notifications are on for new streams and help requests.', 'notifications_granted'));
    } else if (Notification.permission === 'denied') {
      put(state, message('info', 'Desktop notifications are blocked for this site in the browser’s settings.', 'notifications_denied'));
    } else {
      put(state, h('button', { type: 'button', class: 'small', onclick: async () => {
        await Notification.requestPermission(); // asked on this click only
        render();
      } }, 'Enable desktop notifications'));
    }
  };
  render();
  return h('section', { class: 'card', 'aria-labelledby': 'h-alerts' }, h('h2', { id: 'h-alerts' }, 'Alerts'),
    h('p', { class: 'hint' }, 'A banner names the camera user and why each new stream started; it stays until you open or dismiss it. Help requests stay until acknowledged.'),
    h('label', { class: 'row' }, sound, ' Play a sound on new streams and help requests'),
    state);
}
