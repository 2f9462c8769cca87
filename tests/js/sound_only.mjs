// webui/js/live/sound-only.js as a filter, for tests/unit/test_sound_only_js.py: reads
// {"chunks": [hex, ...]} (an init segment, then the camera's fragments) on stdin and prints
// {"appended": [{"held": bool, "data": hex, "video": [sample, ...]}, ...], "ranges": [[start, end], ...]}:
// every fragment in the order the view with sound appends it, the camera's and the held pictures,
// with its video samples ({decodeTime, duration, sync, data: hex}) as fmp4.js reads them, and the
// held media ranges at the end.
//
//   node tests/js/sound_only.mjs < input.json

import { parseFragment, parseInit } from '../../webui/js/fmp4.js';
import { SoundOnlyHold } from '../../webui/js/live/sound-only.js';
import { fromHex, hex } from './harness.mjs';

let text = '';
for await (const part of process.stdin) text += part;
const [init, ...fragments] = JSON.parse(text).chunks.map(fromHex);
const tracks = parseInit(init);
const hold = new SoundOnlyHold(tracks);
const video = [...tracks.values()].find((t) => t.handler === 'vide');
const appended = [];
const append = (held, data) => {
  const run = parseFragment(data, tracks).find((r) => r.trackId === video.id);
  const samples = (run ? run.samples : []).map((s) => ({ decodeTime: s.decodeTime, duration: s.duration, sync: s.sync, data: hex(s.data) }));
  appended.push({ held, data: hex(data), video: samples });
};
for (const fragment of fragments) {
  const { before, after } = hold.follow(parseFragment(fragment, tracks));
  if (before) append(true, before);
  append(false, fragment);
  if (after) append(true, after);
}
console.log(JSON.stringify({ appended, ranges: hold.ranges }));
