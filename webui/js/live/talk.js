/**
 * Talk-back in Live's stream view (issue 16 item 3): hold the button (or Space) to talk to the
 * camera user through their camera.
 *
 * The talk socket (/api/cloud/orgs/{org}/streams/{stream}/talk) says who holds the floor of the
 * camera — one talker at a time, shown to every viewer. Pressing asks for the floor with a fresh
 * random talk id; once granted, the microphone (getUserMedia) is read frame by frame
 * (MediaStreamTrackProcessor), encoded to 20 ms Opus packets by WebCodecs' AudioEncoder, each
 * sealed end to end with the talk key — HKDF of the stream's content key, which this browser
 * unwraps with the system private key and the cloud cannot (docs/e2e-envelope.md §13) — and sent
 * with the lab time its first sample was captured (the camera measures mouth-to-ear latency).
 * Releasing stops the microphone and gives the floor back.
 */

import { labClock, wsUrl } from '../api.js';
import { h } from '../dom.js';
import { b64urlEncode, deriveTalkKey, sealTalk, TALK_ID_SIZE, unwrapTalkSecret } from '../e2e.js';
import { listKeys } from '../keystore.js';

const OPUS = { codec: 'opus', bitrate: 32000 };

export function talkSupported() {
  return typeof AudioEncoder === 'function' && typeof MediaStreamTrackProcessor === 'function'
    && Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

export class TalkButton {
  constructor({ orgId, stream }) {
    this.orgId = orgId;
    this.stream = stream;
    this.state = 'idle'; // idle → asking → talking → idle
    this.floor = null;
    this.button = h('button', { type: 'button', class: 'talk', 'aria-pressed': 'false', disabled: true }, 'Hold to talk');
    this.button.title = 'Hold to talk to the camera user through their camera (sealed end to end)';
    this.status = h('span', { class: 'talk-status', 'aria-live': 'polite' });
    this.el = h('span', { class: 'talk-box' }, this.button, this.status);
    // Hold to talk: the button captures the pointer, so the talk lasts until the button is let go,
    // wherever the pointer is by then (the header around the button re-flows as the stream's quality
    // and who is watching change; a pointerleave must not end the talk).
    this.button.addEventListener('pointerdown', (e) => {
      e.preventDefault();
      this.button.setPointerCapture(e.pointerId);
      this.press();
    });
    for (const ev of ['pointerup', 'pointercancel', 'lostpointercapture']) this.button.addEventListener(ev, () => this.release());
    this.button.addEventListener('keydown', (e) => { if ((e.key === ' ' || e.key === 'Enter') && !e.repeat) { e.preventDefault(); this.press(); } });
    this.button.addEventListener('keyup', (e) => { if (e.key === ' ' || e.key === 'Enter') this.release(); });
  }

  start() {
    if (!talkSupported()) {
      this.show('Talk-back needs WebCodecs audio (AudioEncoder) and microphone access in this browser.', 'unsupported');
      return this;
    }
    this.ws = new WebSocket(wsUrl(`/api/cloud/orgs/${this.orgId}/streams/${this.stream.id}/talk`));
    this.ws.onmessage = (event) => this.onMessage(JSON.parse(event.data));
    this.ws.onclose = () => { this.button.disabled = true; this.stopMic(); this.state = 'idle'; };
    return this;
  }

  stop() {
    this.stopped = true;
    this.stopMic();
    if (this.ws) this.ws.close();
  }

  show(text, code = '') {
    this.status.textContent = text;
    this.status.dataset.code = code;
  }

  onMessage(msg) {
    if (msg.type === 'talk_floor') {
      this.floor = msg;
      this.el.dataset.talker = msg.talker || '';
      this.el.dataset.mine = String(Boolean(msg.mine));
      if (msg.mine) {
        this.show('You are talking: the camera user hears you.', 'talking');
        if (this.state === 'asking') this.openMic().catch((err) => this.fail(err));
      } else {
        if (this.state !== 'asking') { this.state = 'idle'; this.stopMic(); }
        this.show(msg.talker ? `${msg.talker} is talking to this camera.` : '', msg.talker ? 'busy' : '');
      }
      this.button.disabled = Boolean(msg.talker && !msg.mine);
      this.button.setAttribute('aria-pressed', String(Boolean(msg.mine)));
    } else if (msg.type === 'error') {
      if (this.state === 'asking') this.state = 'idle';
      this.show(msg.message, msg.code);
    }
  }

  async press() {
    if (this.state !== 'idle' || this.button.disabled || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.state = 'asking';
    try {
      if (!this.secret) {
        const wanted = this.stream.wrapped_key && this.stream.wrapped_key.key_fingerprint;
        const key = (await listKeys()).find((k) => k.fingerprint === wanted);
        if (!key) throw new Error('No end-to-end key of this system in this browser: open its link with key first (S5).');
        this.secret = await unwrapTalkSecret(key, this.stream.id, this.stream.wrapped_key);
      }
      const talkId = crypto.getRandomValues(new Uint8Array(TALK_ID_SIZE));
      this.key = await deriveTalkKey(this.secret, this.stream.id, talkId);
      this.seq = 0;
      this.captured = new Map();
      this.ws.send(JSON.stringify({ type: 'talk_take', talk_id: b64urlEncode(talkId) }));
    } catch (err) {
      this.fail(err);
    }
  }

  release() {
    if (this.state === 'asking' && !this.mic) { this.releaseWanted = true; return; }
    this.releaseWanted = false;
    if (this.state === 'idle') return;
    this.state = 'idle';
    this.stopMic(true);
  }

  async openMic() {
    this.state = 'talking';
    const media = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true } });
    const track = media.getAudioTracks()[0];
    this.mic = { media, reader: new MediaStreamTrackProcessor({ track }).readable.getReader(), encoder: null };
    this.pump(this.mic).catch((err) => this.fail(err));
    if (this.releaseWanted) this.release(); // let go while the microphone was opening
  }

  async pump(mic) {
    let chain = Promise.resolve();
    for (;;) {
      const { value: frame, done } = await mic.reader.read();
      if (done || mic.closed) { if (frame) frame.close(); break; }
      if (!mic.encoder) {
        mic.encoder = new AudioEncoder({
          output: (chunk) => { chain = chain.then(() => this.send(chunk)); },
          error: (err) => this.fail(err),
        });
        mic.encoder.configure({ ...OPUS, sampleRate: frame.sampleRate, numberOfChannels: frame.numberOfChannels });
      }
      // Capture time of the frame's first sample: its timestamp on the lab clock. The offset between
      // the two clocks is the smallest seen (a frame's last sample is captured at best when the
      // frame arrives), so frames delivered late in a burst do not look captured late.
      const offset = labClock.now() - frame.duration / 1e6 - frame.timestamp / 1e6;
      mic.offset = mic.offset === undefined ? offset : Math.min(mic.offset, offset);
      this.captured.set(frame.timestamp, frame.timestamp / 1e6 + mic.offset);
      mic.encoder.encode(frame);
      frame.close();
    }
    if (mic.encoder && mic.encoder.state === 'configured') await mic.encoder.flush();
    await chain;
    if (mic.release && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'talk_release' }));
    if (mic.encoder && mic.encoder.state !== 'closed') mic.encoder.close();
  }

  async send(chunk) {
    const packet = new Uint8Array(chunk.byteLength);
    chunk.copyTo(packet);
    const seq = this.seq;
    this.seq += 1;
    const sealed = await sealTalk(this.key, this.stream.id, seq, packet);
    const at = this.captured.get(chunk.timestamp) ?? labClock.now() - chunk.duration / 1e6;
    for (const ts of this.captured.keys()) if (ts <= chunk.timestamp) this.captured.delete(ts);
    if (this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: 'talk_audio', seq, data: b64urlEncode(sealed), captured_at: at }));
    }
  }

  stopMic(release = false) {
    const mic = this.mic;
    this.mic = null;
    if (!mic) {
      if (release && this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'talk_release' }));
      return;
    }
    mic.closed = true;
    mic.release = release;
    for (const t of mic.media.getTracks()) t.stop();
    mic.reader.cancel().catch(() => {});
  }

  fail(err) {
    this.state = 'idle';
    this.stopMic(true);
    this.show(err && err.message ? err.message : String(err), (err && err.code) || 'talk_failed');
  }
}
