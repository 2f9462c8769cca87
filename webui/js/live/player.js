/**
 * The stream player of the web client (SPEC D6, D8, S1, S4, L5).
 *
 * It receives a stream's ciphertext chunk frames over the live (or recording) WebSocket, unwraps
 * the content key with the system key held in this browser, opens every chunk with WebCrypto
 * and plays the fragmented MP4 either
 *  - with sound, through Media Source Extensions ("mse"), kept close to the live edge; while the
 *    camera sends sound only the sound plays on and the picture is held on its last frame
 *    (sound-only.js); or
 *  - at low latency, through WebCodecs ("webcodecs"): the H.264 and AAC samples are taken out of
 *    each fragment (fmp4.js) and decoded; the sound plays through an AudioWorklet on a clock
 *    that the video frames are presented against (audio.js). Without AudioDecoder (or without
 *    an AAC track) the frames are drawn as soon as they are decoded, video only.
 * Latency is measured per shown frame: the lab time at which it is displayed (browser clock +
 * the lab's time-travel offset) minus the frame's capture time (camera clock).
 * S1: when a chunk's capture time and this browser's clock differ by more than CLOCK_TOLERANCE
 * seconds, the stream is refused: no image, and the reason is shown.
 */

import { labClock, wsUrl } from '../api.js';
import { parseChunk } from '../chunk.js';
import { h, message, put, time } from '../dom.js';
import { openChunk, unwrapContentKey } from '../e2e.js';
import { parseFragment, parseInit } from '../fmp4.js';
import { listKeys } from '../keystore.js';
import { LowLatencyAudio, Presenter, canPlay } from './audio.js';
import { SoundOnlyHold } from './sound-only.js';

export const CLOCK_TOLERANCE = 5; // seconds: S1, bwlab/wire/constants.py CLOCK_TOLERANCE_S (tests/js/constants.test.mjs)
// MSE play position: a frame can only play once its whole fragment (200 ms of media) has come,
// so the play position trails the newest media, measured when a fragment lands, by one
// fragment plus a margin for jitter; the playback rate pulls it back when it drifts further.
const LIVE_LAG = 0.28; // seconds behind the newest media when a fragment lands
const MAX_LIVE_LAG = 1.5; // beyond this the player jumps to the live edge
const KEEP_SECONDS = 30; // media kept in the MSE buffer behind the play position
const LATENCY_WINDOW = 60; // frames in the shown median

export class PlayerError extends Error {
  constructor(code, text) {
    super(text);
    this.name = 'PlayerError';
    this.code = code;
  }
}

function median(values) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

export class StreamPlayer {
  /**
   * orgId, streamId, title: whose stream; mode: 'mse' | 'webcodecs'; recording: play a
   * recording instead of the live stream; muted: start without sound (group tiles).
   */
  constructor({ orgId, streamId, title, mode = 'mse', recording = false, muted = false, onEnded }) {
    Object.assign(this, { orgId, streamId, title, mode, recording, muted, onEnded });
    this.latencies = []; // every measured frame latency, seconds (bounded)
    this.avOffsets = []; // low-latency view with sound: per shown frame, video minus sound media time (s)
    this.deliveries = []; // per media chunk: arrival (lab time) minus the end of its media (camera clock)
    this.frames = 0;
    this.state = 'connecting';
    this.chain = Promise.resolve();
    this.anchor = null; // capture time minus media time of the video track (seconds)
    this.el = h('section', { class: `player player-${mode}`, 'aria-label': `${recording ? 'Recording' : 'Live view'}: ${title}` });
    this.el.player = this;
    this.screen = h('div', { class: 'screen' });
    this.msg = h('div', { class: 'player-msg', 'aria-live': 'polite' });
    this.latencyOut = h('output', { class: 'latency' }, recording ? '' : 'Latency: —');
    this.framesOut = h('output', { class: 'frames' }, 'Frames: 0');
    this.clockOut = h('output', { class: 'camera-clock' }, '');
    this.bar = h('div', { class: 'player-bar' }, this.latencyOut, this.framesOut, this.clockOut);
    this.el.append(this.screen, this.bar, this.msg);
    this.setState('connecting', 'Connecting…');
  }

  setState(state, text) {
    this.state = state;
    this.el.dataset.state = state;
    if (text !== undefined) put(this.msg, text ? message(state === 'refused' || state === 'error' ? 'error' : 'info', text, state) : '');
  }

  start() {
    const path = `/api/cloud/orgs/${this.orgId}/streams/${this.streamId}/${this.recording ? 'recording' : 'live'}`;
    // The low-latency view asks the camera for small chunks while it watches (viewer_latency).
    this.ws = new WebSocket(wsUrl(path + (this.mode === 'webcodecs' && !this.recording ? '?latency=low' : '')));
    this.ws.binaryType = 'arraybuffer';
    this.ws.onmessage = (event) => {
      const data = event.data;
      this.chain = this.chain.then(() => (this.stopped ? null : this.handle(data))).catch((err) => this.fail(err));
    };
    this.ws.onclose = (event) => {
      this.chain = this.chain.then(() => {
        if (this.stopped || this.ended || ['ended', 'refused', 'error'].includes(this.state)) return;
        if (event.code === 4408) this.fail(new PlayerError('too_slow', 'This browser fell behind the stream; reopen it to rejoin at the live edge.'));
        else this.fail(new PlayerError('disconnected', `The connection to the stream closed (${event.code}${event.reason ? `: ${event.reason}` : ''}).`));
      });
    };
    return this;
  }

  stop() {
    this.stopped = true;
    if (this.ws) this.ws.close();
    clearInterval(this.meterTimer);
    clearInterval(this.edgeTimer);
    if (this.audioCtx) this.audioCtx.close();
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
    if (this.presenter) this.presenter.stop();
    if (this.audio) this.audio.stop();
    if (this.video) {
      this.video.pause();
      this.video.removeAttribute('src');
      this.video.load();
    }
  }

  fail(err) {
    if (this.stopped) return;
    const code = err.code || 'error';
    this.setState(code === 'clock_mismatch' ? 'refused' : 'error', err.message);
    this.el.dataset.error = code;
    this.stop();
    this.screen.replaceChildren(h('div', { class: 'no-image' }, 'No image'));
  }

  async handle(data) {
    if (typeof data === 'string') {
      const msg = JSON.parse(data);
      if (msg.type === 'stream') await this.open(msg.stream);
      else if (msg.type === 'ended' || msg.type === 'end') this.end();
      else if (msg.type === 'live_edge') this.pastEdge = true; // the joiner's catch-up (current GOP) is over
      return;
    }
    if (!this.contentKey) return;
    const chunk = parseChunk(data);
    if (chunk.kind === 'position') return;
    const plain = await openChunk(this.contentKey, this.streamId, chunk.kind, chunk.seq, chunk.sealed);
    if (chunk.kind === 'init') {
      this.tracks = parseInit(plain);
      this.videoTrack = [...this.tracks.values()].find((t) => t.handler === 'vide');
      if (this.mode === 'webcodecs') this.openDecoder();
      else await this.openMse(plain);
      return;
    }
    if (!this.tracks) return;
    if (!this.recording) {
      await this.checkClock(chunk);
      this.deliveries.push(labClock.now() - (chunk.captureTime + chunk.duration));
      if (this.deliveries.length > 2000) this.deliveries.splice(0, 500);
    }
    const runs = parseFragment(plain, this.tracks);
    const video = runs.find((r) => r.trackId === this.videoTrack.id);
    if (video && video.samples.length) this.setAnchor(chunk.captureTime - video.baseDecodeTime / this.videoTrack.timescale);
    if (this.pastEdge && this.edgeCapture === undefined) this.edgeCapture = chunk.captureTime;
    if (this.mode === 'webcodecs') {
      this.decode(video);
      if (this.audio && this.pastEdge) this.audio.decode(runs.find((r) => r.trackId === this.audio.track.id), this.anchor);
    } else {
      const held = this.hold.follow(runs);
      if (held.before) this.append(held.before);
      this.append(plain);
      if (held.after) this.append(held.after);
    }
  }

  async open(meta) {
    this.meta = meta;
    const keys = await listKeys();
    const wanted = meta.wrapped_key && meta.wrapped_key.key_fingerprint;
    if (!keys.length) {
      throw new PlayerError('key_missing', 'No end-to-end key in this browser: open the link with key that your administrator copied from the Manager (S5).');
    }
    const key = keys.find((k) => k.fingerprint === wanted);
    if (!key) {
      throw new PlayerError('key_wrong', `This stream is encrypted for the key with fingerprint ${wanted}, `
        + `but this browser holds ${keys.map((k) => k.fingerprint).join(', ')}. Open the link with key of this system (S5, S6).`);
    }
    this.contentKey = await unwrapContentKey(key, this.streamId, meta.wrapped_key);
    this.setState('buffering', this.recording ? 'Loading the recording…' : 'Waiting for video…');
  }

  /** S1: refuse the stream when the camera's clock and this browser's disagree. */
  async checkClock(chunk) {
    const skew = () => labClock.now() - (chunk.captureTime + chunk.duration);
    if (Math.abs(skew()) <= CLOCK_TOLERANCE) return;
    await labClock.sync(); // the lab may just have travelled in time
    const s = skew();
    if (Math.abs(s) <= CLOCK_TOLERANCE) return;
    const ahead = s < 0 ? "the camera's clock is ahead" : "the camera's clock is behind";
    throw new PlayerError('clock_mismatch', `Stream refused: the body-worn system's clock and this computer's clock differ by `
      + `${Math.abs(s).toFixed(1)} s (${ahead}), more than the ${CLOCK_TOLERANCE} s allowed (S1). `
      + 'Set the body-worn system and this computer to the same NTP server.');
  }

  setAnchor(anchor) {
    if (this.anchor === null || Math.abs(anchor - this.anchor) > 0.5) this.anchor = anchor;
    else this.anchor = Math.max(this.anchor, anchor);
  }

  measured(latency, captured) {
    this.frames += 1;
    this.el.dataset.frames = String(this.frames);
    this.framesOut.textContent = `Frames: ${this.frames}`;
    if (captured !== null) this.clockOut.textContent = `Camera clock ${time(captured)}`;
    if (this.state === 'connecting' || this.state === 'buffering') this.setState('playing', '');
    // Latency counts frames from live chunks only, not the catch-up a joiner receives first.
    if (this.recording || latency === null || this.edgeCapture === undefined || captured < this.edgeCapture) return;
    this.latencies.push(latency);
    if (this.latencies.length > 5000) this.latencies.splice(0, 1000);
    if (this.frames % 5 === 0) {
      const p50 = median(this.latencies.slice(-LATENCY_WINDOW));
      this.el.dataset.latencyP50 = String(Math.round(p50 * 1000));
      this.latencyOut.textContent = `Latency: ${Math.round(p50 * 1000)} ms`;
      this.latencyOut.title = `Median of the last ${Math.min(LATENCY_WINDOW, this.latencies.length)} frames: display time minus capture time`;
    }
  }

  end() {
    if (this.recording) {
      this.ended = true;
      this.pump();
      return;
    }
    this.setState('ended', 'The stream has ended. It is kept under Recordings for 24 hours.');
    this.stopped = true;
    if (this.ws) this.ws.close();
    if (this.onEnded) this.onEnded();
  }

  // ---- with sound: Media Source Extensions ----------------------------------------------

  async openMse(init) {
    const mime = this.meta.mime;
    if (!window.MediaSource || !MediaSource.isTypeSupported(mime)) {
      throw new PlayerError('unsupported', `This browser cannot play ${mime} with Media Source Extensions.`);
    }
    const video = h('video', { playsinline: true, 'aria-label': `${this.recording ? 'Recording' : 'Live video'} of ${this.title}` });
    video.muted = this.muted;
    video.controls = this.recording;
    this.video = video;
    this.queue = [init];
    this.hold = new SoundOnlyHold(this.tracks);
    this.soundOnlyNote = h('div', { class: 'sound-only', role: 'status', hidden: true },
      'Sound only: the camera\'s link is too weak for the picture, shown as it last was');
    this.el.dataset.soundOnly = 'false';
    const source = new MediaSource();
    video.src = URL.createObjectURL(source);
    this.screen.replaceChildren(video, this.soundOnlyNote);
    await new Promise((resolve) => source.addEventListener('sourceopen', resolve, { once: true }));
    this.source = source;
    this.buffer = source.addSourceBuffer(mime);
    this.buffer.mode = 'segments';
    this.buffer.addEventListener('updateend', () => { this.afterAppend(); this.pump(); });
    video.addEventListener('waiting', () => this.holdPicture());
    this.pump();
    this.addSoundControls();
    video.requestVideoFrameCallback((now, m) => this.onVideoFrame(now, m));
    if (!this.recording) this.edgeTimer = setInterval(() => this.followEdge(), 250);
  }

  append(bytes) {
    if (!this.queue) return;
    this.queue.push(bytes);
    this.pump();
  }

  pump() {
    const buffer = this.buffer;
    if (!buffer || buffer.updating || this.stopped && !this.recording) return;
    if (this.queue.length) {
      buffer.appendBuffer(this.queue.shift());
    } else if (this.ended && this.source.readyState === 'open') {
      this.source.endOfStream();
    } else if (!this.recording && this.video.currentTime > KEEP_SECONDS + 5 && buffer.buffered.length) {
      const start = buffer.buffered.start(0);
      if (this.video.currentTime - start > KEEP_SECONDS + 5) buffer.remove(start, this.video.currentTime - KEEP_SECONDS);
    }
  }

  afterAppend() {
    const video = this.video;
    if (!video || !video.buffered.length) return;
    if (this.started) {
      if (!this.recording) this.steer();
      return;
    }
    this.started = true;
    const b = video.buffered;
    video.currentTime = this.recording ? b.start(0) : Math.max(b.start(0), b.end(b.length - 1) - LIVE_LAG);
    this.play();
  }

  async play() {
    try {
      await this.video.play();
    } catch {
      // Autoplay with sound refused (no user gesture yet): play muted and offer Unmute.
      this.video.muted = true;
      this.syncMuteButton();
      try { await this.video.play(); } catch (err) { this.setState('buffering', `Press play to start (${err.message}).`); }
    }
    this.syncMuteButton();
    if (!this.video.muted) this.startMeter();
  }

  /** As a fragment lands: keep the play position LIVE_LAG behind the newest media. */
  steer() {
    const video = this.video;
    const end = video.buffered.end(video.buffered.length - 1);
    const lag = end - video.currentTime;
    if (lag > MAX_LIVE_LAG) video.currentTime = end - LIVE_LAG;
    else video.playbackRate = lag > LIVE_LAG + 0.15 ? 1.15 : lag > LIVE_LAG + 0.04 ? 1.04 : 1.0;
  }

  /** The media element waits: for the picture alone, it is held (sound-only.js). */
  holdPicture() {
    const video = this.video;
    if (!video || this.stopped || video.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA) return;
    const held = this.hold.stalled(video.currentTime);
    if (held) this.append(held);
  }

  /** Between fragments: recover from a stall or a position outside the buffer. */
  followEdge() {
    const video = this.video;
    if (!video || !video.buffered.length || !this.started) return;
    this.holdPicture();
    const end = video.buffered.end(video.buffered.length - 1);
    if (video.currentTime < video.buffered.start(0) || end - video.currentTime > MAX_LIVE_LAG) video.currentTime = end - LIVE_LAG;
    if (video.paused && !video.ended && this.state === 'playing') video.play().catch(() => {});
  }

  onVideoFrame(now, meta) {
    if (this.stopped && !this.recording) return;
    const held = this.hold.isHeld(meta.mediaTime);
    if (this.el.dataset.soundOnly !== String(held)) {
      this.el.dataset.soundOnly = String(held);
      this.soundOnlyNote.hidden = !held;
    }
    if (held) { // a held picture: not a frame of the camera's, neither counted nor measured
      this.video.requestVideoFrameCallback((n, m) => this.onVideoFrame(n, m));
      return;
    }
    const captured = this.anchor === null ? null : this.anchor + meta.mediaTime;
    const latency = captured === null ? null : labClock.atPerformance(meta.expectedDisplayTime) - captured;
    this.measured(latency, captured);
    if (this.video) this.video.requestVideoFrameCallback((n, m) => this.onVideoFrame(n, m));
  }

  addSoundControls() {
    this.muteButton = h('button', { type: 'button', class: 'mute', onclick: () => this.toggleMute() });
    this.meter = h('meter', { class: 'sound', min: 0, max: 0.5, value: 0, 'aria-label': 'Sound level' });
    this.bar.append(h('span', { class: 'sound-box' }, this.muteButton, h('span', { 'aria-hidden': 'true' }, '♪'), this.meter));
    this.syncMuteButton();
  }

  syncMuteButton() {
    if (!this.muteButton) return;
    this.muteButton.textContent = this.video.muted ? 'Unmute' : 'Mute';
    this.muteButton.setAttribute('aria-pressed', String(!this.video.muted));
  }

  toggleMute() {
    this.video.muted = !this.video.muted;
    this.syncMuteButton();
    if (!this.video.muted) {
      this.startMeter();
      if (this.video.paused) this.video.play().catch(() => {});
    }
  }

  /** A sound-level meter on the media element's output (Web Audio; needs a running context). */
  async startMeter() {
    if (this.audioCtx || this.stopped) return;
    const ctx = new AudioContext();
    if (ctx.state !== 'running') {
      await Promise.race([ctx.resume(), new Promise((r) => setTimeout(r, 300))]);
      if (ctx.state !== 'running') { ctx.close(); return; }
    }
    this.audioCtx = ctx;
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    ctx.createMediaElementSource(this.video).connect(analyser);
    analyser.connect(ctx.destination);
    const samples = new Float32Array(analyser.fftSize);
    this.meterTimer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const v of samples) sum += v * v;
      const rms = Math.sqrt(sum / samples.length);
      this.meter.value = rms;
      this.el.dataset.soundLevel = rms.toFixed(4);
    }, 200);
  }

  // ---- low latency: WebCodecs -------------------------------------------------------------

  openDecoder() {
    if (!window.VideoDecoder) throw new PlayerError('unsupported', 'This browser has no WebCodecs VideoDecoder; use the view with sound.');
    const track = this.videoTrack;
    const canvas = h('canvas', { width: track.width, height: track.height, role: 'img', 'aria-label': `Live video of ${this.title} (low latency)` });
    this.canvas = canvas;
    this.screen.replaceChildren(canvas);
    this.captures = new Map();
    this.decoder = new VideoDecoder({
      output: (frame) => this.onDecoded(frame),
      error: (err) => this.fail(new PlayerError('decoder', `The video decoder failed: ${err.message}`)),
    });
    this.decoder.configure({
      codec: track.codec, codedWidth: track.width, codedHeight: track.height, description: track.avcC, optimizeForLatency: true,
    });
    const sound = [...this.tracks.values()].find((t) => t.handler === 'soun');
    if (canPlay(sound)) {
      this.audio = new LowLatencyAudio({ track: sound, el: this.el, bar: this.bar, muted: this.muted });
      this.audio.start().catch((err) => this.audio.fail(err.message));
    } else {
      this.bar.append(h('span', { class: 'hint' }, 'Low-latency view: video only'));
    }
    this.presenter = new Presenter({ canvas, audio: this.audio, onShown: (ts, shownAt, offset) => this.onShown(ts, shownAt, offset) });
  }

  decode(run) {
    if (!run || !this.decoder || this.decoder.state !== 'configured') return;
    const scale = this.videoTrack.timescale;
    for (const sample of run.samples) {
      if (!this.keySeen && !sample.sync) continue;
      this.keySeen = true;
      const timestamp = Math.round((sample.decodeTime * 1e6) / scale);
      this.captures.set(timestamp, this.anchor + sample.decodeTime / scale);
      this.decoder.decode(new EncodedVideoChunk({
        type: sample.sync ? 'key' : 'delta', timestamp, duration: Math.round((sample.duration * 1e6) / scale), data: sample.data,
      }));
    }
  }

  onDecoded(frame) {
    if (this.stopped) frame.close();
    else this.presenter.push(frame);
  }

  onShown(timestamp, shownAt, offset) {
    const captured = this.captures.get(timestamp) ?? null;
    this.captures.delete(timestamp);
    if (this.captures.size > 200) this.captures.clear();
    if (offset !== null && this.edgeCapture !== undefined && captured >= this.edgeCapture) {
      this.avOffsets.push(offset);
      if (this.avOffsets.length > 5000) this.avOffsets.splice(0, 1000);
    }
    this.measured(captured === null ? null : labClock.atPerformance(shownAt) - captured, captured);
  }
}
