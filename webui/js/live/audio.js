/**
 * Sound for the low-latency view (issue 16 item 6; SPEC L5, D6).
 *
 * The AAC samples of each fragment (fmp4.js) are decoded with WebCodecs' AudioDecoder and played
 * by an AudioWorklet (audio-worklet.js) on a playout clock: media sample s is heard at lab time
 * capture(s) + delay, where capture(s) is the camera's capture time of that sample (the player's
 * anchor + s / sample rate) and `delay` is a jitter buffer sized from how late the audio really
 * arrives (the lag 95 % of the audio met over the last 3 s, plus a margin: a rare later block
 * plays in part rather than delaying everything). The clock is the audio
 * context's, which the sound hardware drives (getOutputTimestamp ties it to performance.now()),
 * and the video follows it: `Presenter` shows each decoded frame when the sound being heard
 * reaches the frame's media time. So picture and sound stay together at the lowest delay at
 * which the sound plays without gaps.
 *
 * The worklet's measurements are published on the player element for the operator and for
 * tests: data-sound-level (RMS), data-sound-frequency (Hz, from zero crossings),
 * data-audio-delay (ms), data-audio-underrun (ms of silence while playing).
 */

import { labClock } from '../api.js';
import { h } from '../dom.js';

const WORKLET_URL = new URL('./audio-worklet.js', import.meta.url);
const MARGIN = 0.02; // seconds kept between the late-arriving audio and its playout
const LAG_WINDOW = 3; // seconds of arrival lags the delay is sized from ...
const LAG_QUANTILE = 0.95; // ... the lag that this share of the audio met (the rest plays in part)
const SETTLE = 0.6; // seconds of live audio received before the clock starts
const MAX_DELAY = 1.0; // seconds: the delay is never set beyond this
const SHRINK_AFTER = 2; // seconds the delay must have been too large before it is lowered
const SHRINK_BY_AT_LEAST = 0.03; // seconds
const RAISE_STEP = 0.01; // seconds: the delay rises when 10 ms short, by 10 ms more than needed
// Seconds by which a picture is shown before its sound: within lip-sync tolerance (a sound late on
// its picture is noticed from about 125 ms, ITU-R BT.1359; the view's A/V budget is 40 ms), so the
// picture need not wait for the whole of the sound's jitter buffer (docs/decisions.md, "Two players").
export const PICTURE_LEAD = 0.02;

/** Whether this browser can decode and play the AAC track of a stream at low latency. */
export function canPlay(track) {
  return Boolean(track && track.audioConfig && window.AudioDecoder && window.AudioWorkletNode && window.AudioContext);
}

export class LowLatencyAudio {
  /** track: the AAC track of the init segment (fmp4.js); el: the player element; bar: its control bar. */
  constructor({ track, el, bar, muted = false }) {
    Object.assign(this, { track, el, bar, muted });
    this.rate = track.sampleRate;
    this.lags = []; // [lab time of arrival, arrival - capture of the block's first sample]
    this.delay = null; // seconds from capture to playout, once the clock runs
    this.clock = null; // { frame, sample } as posted to the worklet
    this.firstArrival = null;
    this.tooLargeSince = null;
    this.status = null;
    this.anchor = null;
    this.queue = []; // decoded blocks waiting for the worklet
  }

  async start() {
    const ctx = new AudioContext({ latencyHint: 'interactive', sampleRate: this.rate });
    this.ctx = ctx;
    await ctx.audioWorklet.addModule(WORKLET_URL);
    if (this.stopped) return;
    this.node = new AudioWorkletNode(ctx, 'bwlab-low-latency-playout', { numberOfInputs: 0, outputChannelCount: [1] });
    this.gain = ctx.createGain();
    this.gain.gain.value = this.muted ? 0 : 1;
    this.node.connect(this.gain).connect(ctx.destination);
    this.node.port.onmessage = (event) => this.onStatus(event.data);
    this.decoder = new AudioDecoder({
      output: (data) => this.onDecoded(data),
      error: (err) => this.fail(`The audio decoder failed: ${err.message}`),
    });
    this.decoder.configure({ codec: this.track.codec, sampleRate: this.rate, numberOfChannels: this.track.channels, description: this.track.audioConfig });
    this.addControls();
    if (ctx.state !== 'running') await Promise.race([ctx.resume(), new Promise((r) => setTimeout(r, 300))]);
    this.syncControls();
    for (const block of this.queue) this.node.port.postMessage(block, [block.data.buffer]);
    this.queue = [];
  }

  stop() {
    this.stopped = true;
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
    if (this.ctx && this.ctx.state !== 'closed') this.ctx.close();
  }

  fail(text) {
    this.stop();
    this.failed = text;
    this.el.dataset.audio = 'failed';
    if (this.hint) this.hint.textContent = `No sound: ${text}`;
  }

  /** The AAC samples of a fragment's audio run; anchor: capture time minus media time (s). */
  decode(run, anchor) {
    if (!run || !this.decoder || this.decoder.state !== 'configured') return;
    this.anchor = anchor;
    for (const sample of run.samples) {
      this.decoder.decode(new EncodedAudioChunk({
        type: 'key', timestamp: Math.round((sample.decodeTime * 1e6) / this.track.timescale), duration: Math.round((sample.duration * 1e6) / this.track.timescale), data: sample.data,
      }));
    }
  }

  onDecoded(data) {
    const start = Math.round((data.timestamp * this.rate) / 1e6);
    const pcm = new Float32Array(data.numberOfFrames);
    data.copyTo(pcm, { planeIndex: 0, format: 'f32-planar' });
    data.close();
    if (this.stopped || this.anchor === null) return;
    const now = labClock.now();
    this.lags.push([now, now - (this.anchor + start / this.rate)]);
    while (this.lags.length && this.lags[0][0] < now - LAG_WINDOW) this.lags.shift();
    if (this.firstArrival === null) this.firstArrival = now;
    const block = { type: 'pcm', start, data: pcm };
    if (this.node) this.node.port.postMessage(block, [pcm.buffer]);
    else this.queue.push(block);
    this.steer(now, start);
  }

  /** Start the clock once the arrival lags are known; move it when audio comes too late or
   * the buffer has long been larger than needed. */
  steer(now, start) {
    if (!this.node || this.ctx.state !== 'running' || now - this.firstArrival < SETTLE) return;
    const lags = this.lags.map(([, lag]) => lag).sort((a, b) => a - b);
    const need = Math.min(MAX_DELAY, lags[Math.floor(LAG_QUANTILE * (lags.length - 1))] + MARGIN + 128 / this.rate);
    if (this.delay === null || need > this.delay + RAISE_STEP) {
      this.setClock(Math.min(MAX_DELAY, need + RAISE_STEP), start);
      this.tooLargeSince = null;
    } else if (this.delay - need > SHRINK_BY_AT_LEAST) {
      if (this.tooLargeSince === null) this.tooLargeSince = now;
      else if (now - this.tooLargeSince > SHRINK_AFTER) {
        this.setClock(need, start);
        this.tooLargeSince = null;
      }
    } else {
      this.tooLargeSince = null;
    }
  }

  /** Media sample `sample` (and so every other) is heard `delay` seconds after its capture. */
  setClock(delay, sample) {
    this.delay = delay;
    const heardAt = this.anchor + sample / this.rate + delay; // lab time
    const frame = Math.round(this.contextTimeAt((heardAt - labClock.offset) * 1000 - performance.timeOrigin) * this.ctx.sampleRate);
    this.clock = { frame, sample };
    this.node.port.postMessage({ type: 'clock', frame, sample });
    this.el.dataset.audioDelay = String(Math.round(delay * 1000));
    if (this.hint) this.hint.textContent = `Low-latency view with sound (${Math.round(delay * 1000)} ms)`;
  }

  /** The audio context time heard at performance time `ms` (the output's own clock). */
  contextTimeAt(ms) {
    const ctx = this.ctx;
    let ts = ctx.getOutputTimestamp();
    if (!ts.performanceTime) ts = { contextTime: ctx.currentTime - (ctx.baseLatency || 0) - (ctx.outputLatency || 0), performanceTime: performance.now() };
    return ts.contextTime + (ms - ts.performanceTime) / 1000;
  }

  /** The media time (s) of the sound heard at performance time `ms`, or null before the clock runs. */
  mediaTimeAt(ms) {
    if (!this.clock || this.stopped || this.ctx.state !== 'running') return null;
    const frame = this.contextTimeAt(ms) * this.ctx.sampleRate;
    return (this.clock.sample + (frame - this.clock.frame)) / this.rate;
  }

  onStatus(msg) {
    if (msg.type !== 'status' || this.stopped) return;
    this.status = msg;
    this.el.dataset.soundLevel = msg.level.toFixed(4);
    this.el.dataset.soundFrequency = String(Math.round(msg.frequency));
    this.el.dataset.audioUnderrun = String(Math.round(msg.underrun * 1000));
    if (this.meter) this.meter.value = msg.level;
  }

  addControls() {
    this.muteButton = h('button', { type: 'button', class: 'mute', onclick: () => this.toggleMute() });
    this.meter = h('meter', { class: 'sound', min: 0, max: 0.5, value: 0, 'aria-label': 'Sound level' });
    this.hint = h('span', { class: 'hint' }, 'Low-latency view with sound');
    this.bar.append(h('span', { class: 'sound-box' }, this.muteButton, h('span', { 'aria-hidden': 'true' }, '♪'), this.meter), this.hint);
  }

  syncControls() {
    const silent = this.muted || this.ctx.state !== 'running';
    this.muteButton.textContent = silent ? 'Unmute' : 'Mute';
    this.muteButton.setAttribute('aria-pressed', String(!silent));
    this.el.dataset.audio = this.ctx.state === 'running' ? 'playing' : 'suspended';
  }

  async toggleMute() {
    if (this.ctx.state !== 'running') {
      await this.ctx.resume(); // a user gesture: the autoplay policy lets the context run now
      this.muted = false;
    } else {
      this.muted = !this.muted;
    }
    this.gain.gain.value = this.muted ? 0 : 1;
    this.syncControls();
  }
}

/**
 * Shows decoded video frames on a canvas against the audio clock: on each animation frame the
 * newest frame whose media time the sound will reach within PICTURE_LEAD is drawn (older ones
 * are dropped).
 * Without a running audio clock a frame is drawn as soon as it is decoded. `onShown(frameTime,
 * shownAt, offset)` reports each drawn frame: its timestamp (µs), the display time (performance
 * ms) and the A/V offset (s, video minus sound; null without sound).
 */
export class Presenter {
  constructor({ canvas, audio, onShown }) {
    Object.assign(this, { canvas, audio, onShown });
    this.ctx2d = canvas.getContext('2d');
    this.frames = []; // decoded VideoFrames waiting for their time, in media order
    this.tick = (shownAt) => this.onAnimationFrame(shownAt);
    this.raf = requestAnimationFrame(this.tick);
    this.interval = 1000 / 60;
  }

  push(frame) {
    this.frames.push(frame);
    if (this.frames.length > 60) this.frames.shift().close();
  }

  onAnimationFrame(shownAt) {
    if (this.stopped) return;
    if (this.lastTick !== undefined) this.interval = Math.min(50, Math.max(4, 0.9 * this.interval + 0.1 * (shownAt - this.lastTick)));
    this.lastTick = shownAt;
    const heard = this.audio ? this.audio.mediaTimeAt(shownAt) : null;
    let pick = -1;
    if (heard === null) pick = this.frames.length - 1;
    else {
      const limit = heard + PICTURE_LEAD + this.interval / 2000;
      while (pick + 1 < this.frames.length && this.frames[pick + 1].timestamp / 1e6 <= limit) pick += 1;
    }
    if (pick >= 0) {
      const frame = this.frames[pick];
      for (const old of this.frames.splice(0, pick + 1)) if (old !== frame) old.close();
      this.ctx2d.drawImage(frame, 0, 0, this.canvas.width, this.canvas.height);
      const timestamp = frame.timestamp;
      frame.close();
      this.onShown(timestamp, shownAt, heard === null ? null : timestamp / 1e6 - heard);
    }
    this.raf = requestAnimationFrame(this.tick);
  }

  stop() {
    this.stopped = true;
    cancelAnimationFrame(this.raf);
    for (const frame of this.frames) frame.close();
    this.frames = [];
  }
}
