/**
 * The audio output of the low-latency view with sound (issue 16 item 6; loaded by live/audio.js
 * with audioWorklet.addModule, so it is a 'self' script under the page's CSP).
 *
 * The page posts decoded PCM blocks stamped with their media sample index ({ type: 'pcm',
 * start, data }) and the playout clock ({ type: 'clock', frame, sample }: media sample `sample`
 * is rendered at context frame `frame`, and one sample per frame after it). Each render quantum
 * plays the media samples the clock names; where none arrived in time it plays silence (an
 * underrun), and blocks that arrive after their time are dropped and counted as late. So the
 * audio context's clock, which the hardware drives, is the stream's clock: the page presents
 * video frames against it (live/audio.js).
 *
 * About ten times a second it posts a status: the clock position, the RMS level of what it
 * played and the frequency (zero crossings) of its sound (not of the silence of underruns), the seconds of underrun and of late audio, and
 * how much audio it holds ahead of the clock.
 */

const STATUS_EVERY = 4800; // frames between status messages (0.1 s at 48 kHz)
const KEEP = 64; // PCM blocks held at most (about 1.4 s of 1024-sample AAC frames)

class LowLatencyPlayout extends AudioWorkletProcessor {
  constructor() {
    super();
    this.blocks = []; // { start, data: Float32Array }, in media order
    this.clock = null; // { frame, sample }
    this.sumSquares = 0;
    this.crossings = 0;
    this.measured = 0; // frames measured since the last status ...
    this.sounding = 0; // ... and of them, those not silent (the frequency is theirs)
    this.last = 0;
    this.underrun = 0; // frames of silence played while the clock ran
    this.late = 0; // samples that arrived after their time
    this.nextStatus = 0;
    this.port.onmessage = (event) => this.receive(event.data);
  }

  receive(msg) {
    if (msg.type === 'clock') {
      this.clock = { frame: msg.frame, sample: msg.sample };
    } else if (msg.type === 'pcm') {
      const end = msg.start + msg.data.length;
      const playing = this.clock ? this.clock.sample + (currentFrame - this.clock.frame) : -Infinity;
      if (end <= playing) {
        this.late += msg.data.length;
        return;
      }
      if (msg.start < playing) this.late += playing - msg.start;
      let at = this.blocks.length;
      while (at > 0 && this.blocks[at - 1].start > msg.start) at -= 1;
      this.blocks.splice(at, 0, { start: msg.start, data: msg.data });
      if (this.blocks.length > KEEP) this.blocks.splice(0, this.blocks.length - KEEP);
    }
  }

  process(inputs, outputs) {
    const out = outputs[0][0];
    if (!out) return true;
    out.fill(0);
    if (this.clock) {
      const first = this.clock.sample + (currentFrame - this.clock.frame);
      const last = first + out.length;
      while (this.blocks.length && this.blocks[0].start + this.blocks[0].data.length <= first) this.blocks.shift();
      let covered = 0;
      for (const block of this.blocks) {
        if (block.start >= last) break;
        const from = Math.max(first, block.start);
        const to = Math.min(last, block.start + block.data.length);
        out.set(block.data.subarray(from - block.start, to - block.start), from - first);
        covered += to - from;
      }
      if (first >= 0) this.underrun += out.length - covered;
      this.measure(out);
    }
    for (let c = 1; c < outputs[0].length; c += 1) outputs[0][c].set(out);
    if (currentFrame >= this.nextStatus) this.status();
    return true;
  }

  measure(out) {
    let last = this.last;
    for (let i = 0; i < out.length; i += 1) {
      const v = out[i];
      this.sumSquares += v * v;
      if (v === 0) continue; // silence played for want of audio: no frequency in it
      this.sounding += 1;
      if ((v >= 0) !== (last >= 0)) this.crossings += 1;
      last = v;
    }
    this.last = last;
    this.measured += out.length;
  }

  status() {
    this.nextStatus = currentFrame + STATUS_EVERY;
    const playing = this.clock ? this.clock.sample + (currentFrame - this.clock.frame) : null;
    const newest = this.blocks.length ? this.blocks[this.blocks.length - 1] : null;
    const n = this.measured;
    this.port.postMessage({
      type: 'status',
      frame: currentFrame,
      playing,
      level: n ? Math.sqrt(this.sumSquares / n) : 0,
      frequency: this.sounding ? (this.crossings / 2) * (sampleRate / this.sounding) : 0,
      underrun: this.underrun / sampleRate,
      late: this.late / sampleRate,
      ahead: newest && playing !== null ? Math.max(0, newest.start + newest.data.length - playing) / sampleRate : 0,
    });
    this.sumSquares = 0;
    this.crossings = 0;
    this.measured = 0;
    this.sounding = 0;
  }
}

registerProcessor('bwlab-low-latency-playout', LowLatencyPlayout);
