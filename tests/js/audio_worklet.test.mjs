// webui/js/live/audio-worklet.js (the low-latency view's sound, issue 16 item 6) run in Node with
// a stand-in AudioWorkletGlobalScope: blocks stamped with media samples are played on the clock
// the page sets, in order whatever order they came in; missing audio is silence (counted as
// underrun), audio past its time is dropped (counted as late); the status reports the tone's
// frequency and level.
//
//   node tests/js/audio_worklet.test.mjs
//
// Run by tests/unit/test_audio_worklet_js.py. Prints one line per check and "N passed, N failed".

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const source = await readFile(fileURLToPath(new URL('../../webui/js/live/audio-worklet.js', import.meta.url)), 'utf8');
const RATE = 48000;
let passes = 0;
let failures = 0;

/** A fresh processor in a fresh stand-in scope. */
function processor() {
  const scope = { sampleRate: RATE, currentFrame: 0, messages: [] };
  let Processor = null;
  const factory = new Function('AudioWorkletProcessor', 'registerProcessor', 'scope',
    `with (scope) { ${source} }`); // the worklet reads sampleRate and currentFrame as globals
  class Base { constructor() { this.port = { postMessage: (m) => scope.messages.push(m) }; } }
  factory(Base, (name, cls) => { Processor = cls; }, scope);
  const p = new Processor();
  const render = (frames) => {
    const out = [];
    for (let f = 0; f < frames; f += 128) {
      const block = [[new Float32Array(128)]];
      p.process([], block);
      out.push(...block[0][0]);
      scope.currentFrame += 128;
    }
    return Float32Array.from(out);
  };
  return { p, scope, render };
}

function tone(start, length, hz = 1000) {
  const data = new Float32Array(length);
  for (let i = 0; i < length; i += 1) data[i] = 0.1 * Math.sin((2 * Math.PI * hz * (start + i)) / RATE + 0.3);
  return data;
}

function check(label, fn) {
  try {
    fn();
    passes += 1;
    console.log(`ok   ${label}`);
  } catch (err) {
    failures += 1;
    console.log(`FAIL ${label}\n     ${err && err.stack ? err.stack : err}`);
  }
}

function assert(condition, what) {
  if (!condition) throw new Error(what);
}

check('plays each media sample at the frame the clock gives it, blocks in any order', () => {
  const { p, render } = processor();
  p.receive({ type: 'clock', frame: 256, sample: 1024 }); // media sample 1024 at context frame 256
  p.receive({ type: 'pcm', start: 2048, data: tone(2048, 1024) });
  p.receive({ type: 'pcm', start: 1024, data: tone(1024, 1024) });
  const out = render(2304);
  const expected = tone(1024, 2048);
  for (let i = 0; i < 2048; i += 1) assert(out[256 + i] === expected[i], `frame ${256 + i}: ${out[256 + i]} != ${expected[i]}`);
  assert(out.slice(0, 256).every((v) => v === 0), 'silence before the clock reaches the first block');
});

check('missing audio is silence, counted as underrun; late audio is dropped and counted', () => {
  const { p, scope, render } = processor();
  p.receive({ type: 'clock', frame: 0, sample: 0 });
  p.receive({ type: 'pcm', start: 0, data: tone(0, 24000) });
  p.receive({ type: 'pcm', start: 26000, data: tone(26000, 22000) }); // 2000 samples missing
  render(30000);
  p.receive({ type: 'pcm', start: 24000, data: tone(24000, 2000) }); // comes after its time
  render(18048);
  const last = scope.messages.at(-1);
  assert(Math.abs(last.underrun - 2000 / RATE) < 1e-9, `underrun ${last.underrun}`);
  assert(Math.abs(last.late - 2000 / RATE) < 1e-9, `late ${last.late}`);
});

check('the status reports the tone: frequency from the sound (not the gaps), level, clock position', () => {
  const { p, scope, render } = processor();
  p.receive({ type: 'clock', frame: 0, sample: 0 });
  p.receive({ type: 'pcm', start: 0, data: tone(0, 4000) });
  p.receive({ type: 'pcm', start: 5000, data: tone(5000, 43000) });
  render(48000);
  const statuses = scope.messages.filter((m) => m.type === 'status').slice(1);
  assert(statuses.length >= 8, `${statuses.length} statuses`);
  for (const s of statuses) {
    assert(Math.abs(s.frequency - 1000) < 30, `frequency ${s.frequency}`);
    assert(s.level > 0.05 && s.level < 0.08, `level ${s.level}`);
  }
  assert(statuses.at(-1).playing === statuses.at(-1).frame, 'the clock position: media sample = frame here');
});

console.log(`${passes} passed, ${failures} failed`);
process.exit(failures === 0 && passes > 0 ? 0 : 1);
