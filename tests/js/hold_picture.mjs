// webui/js/h264.js's HoldPicture as a filter, for tests/unit/test_hold_picture_js.py (PyAV decodes
// what it makes): reads {"avcc": hex, "samples": [hex, ...], "count": n} on stdin, pushes every
// sample and prints {"skipped": [hex, ...]}: n samples that repeat the last picture.
//
//   node tests/js/hold_picture.mjs < input.json

import { HoldPicture } from '../../webui/js/h264.js';
import { fromHex, hex } from './harness.mjs';

let text = '';
for await (const part of process.stdin) text += part;
const input = JSON.parse(text);
const hold = new HoldPicture(fromHex(input.avcc));
for (const sample of input.samples) hold.push(fromHex(sample));
const skipped = [];
for (let i = 1; i <= input.count; i += 1) {
  const sample = hold.sample(i);
  skipped.push(sample === null ? null : hex(sample));
}
console.log(JSON.stringify({ skipped }));
