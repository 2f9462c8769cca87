// webui/js/chunk.js and webui/js/fmp4.js against frames and media made by the Python side
// (bwlab/wire/chunk.py, bwlab/wire/envelope.py, firmware_stub/media/, bwlab/wire/fmp4.py; SPEC D6, D8, S1, L5).
//
//   node tests/js/chunk.test.mjs
//
// Parses every chunk frame header, opens every sealed payload with webui/js/e2e.js, reads the
// init segment's tracks and every fragment's samples, and checks that every invalid frame fails
// with the code Python gives. Prints one line per check and "N passed, N failed".
// Run by tests/unit/test_chunk_js.py; vectors from tests/js/make_chunk_vectors.py.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { ChunkError, parseChunk } from '../../webui/js/chunk.js';
import * as e2e from '../../webui/js/e2e.js';
import { parseFragment, parseInit } from '../../webui/js/fmp4.js';

const vectors = JSON.parse(await readFile(fileURLToPath(new URL('./chunk-vectors.json', import.meta.url)), 'utf8'));

let passes = 0;
let failures = 0;

async function check(label, fn) {
  try {
    await fn();
    passes += 1;
    console.log(`ok   ${label}`);
  } catch (err) {
    failures += 1;
    console.log(`FAIL ${label}\n     ${err && err.stack ? err.stack : err}`);
  }
}

function assertEqual(actual, expected, what) {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

const fromB64 = (text) => new Uint8Array(Buffer.from(text, 'base64'));
const fromHex = (text) => new Uint8Array(Buffer.from(text, 'hex'));
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const contentKey = await e2e.importContentKey(fromHex(vectors.content_key));

async function checkFrame(v) {
  const bytes = fromB64(v.frame);
  // A frame as a WebSocket delivers it: an ArrayBuffer of exactly the message.
  const c = parseChunk(bytes.slice().buffer);
  assertEqual(c.streamId, v.stream_id, 'stream id');
  assertEqual(c.kind, v.kind, 'kind');
  assertEqual(c.seq.toString(), v.seq, 'seq');
  assertEqual(c.captureTimeUs.toString(), v.capture_time_us, 'capture time (µs)');
  assertEqual(c.captureTime, Number(v.capture_time_us) / 1e6, 'capture time (s)');
  assertEqual(Math.round(c.duration * 1e6), v.duration_us, 'duration');
  assertEqual(c.keyframe, v.keyframe, 'keyframe flag');
  assertEqual(c.sealed.length, v.sealed_length, 'sealed payload length (upload tag skipped)');
  const plain = await e2e.openChunk(contentKey, c.streamId, c.kind, c.seq, c.sealed);
  assertEqual(sha256(plain), v.plaintext_sha256, 'opened payload');
  return { chunk: c, plain };
}

for (const v of vectors.frames) {
  await check(`frame ${v.kind} seq ${v.seq} stream id of ${v.stream_id.length}`, () => checkFrame(v));
}

for (const bad of vectors.invalid) {
  await check(`invalid frame -> ${bad.code}`, async () => {
    let caught = null;
    try {
      parseChunk(fromB64(bad.frame));
    } catch (err) {
      caught = err;
    }
    if (!(caught instanceof ChunkError)) throw new Error(`expected a ChunkError, got ${caught}`);
    assertEqual(caught.code, bad.code, `code (${caught.message})`);
  });
}

const media = vectors.media;
let tracks = null;
await check('init segment: tracks, codecs and the avcC decoder configuration', async () => {
  const { chunk, plain } = await checkFrame(media.frames[0]);
  assertEqual(chunk.kind, 'init', 'first chunk kind');
  tracks = parseInit(plain);
  assertEqual(tracks.size, media.tracks.length, 'track count');
  for (const t of media.tracks) {
    const got = tracks.get(t.track_id);
    assertEqual(got.handler, t.handler, `track ${t.track_id} handler`);
    assertEqual(got.timescale, t.timescale, `track ${t.track_id} timescale`);
    if (t.handler === 'vide') {
      assertEqual(got.codec, t.codec, 'video codec string (what VideoDecoder.configure takes)');
      assertEqual(got.avcC[0], 1, 'avcC configurationVersion');
      assertEqual(got.width, media.width, 'width');
      assertEqual(got.height, media.height, 'height');
      if (!media.mime.includes(got.codec)) throw new Error(`mime ${media.mime} lacks ${got.codec}`);
    } else {
      // What AudioDecoder.configure takes in the low-latency view with sound (live/audio.js).
      assertEqual(got.codec, t.codec, 'audio codec string from the esds');
      assertEqual(got.sampleRate, t.timescale, 'sample rate');
      assertEqual(got.channels, 1, 'channels');
      assertEqual(got.audioConfig.length >= 2, true, 'an AudioSpecificConfig');
      assertEqual(got.audioConfig[0] >> 3, 2, 'AudioSpecificConfig object type');
    }
  }
});

for (const v of media.frames.slice(1)) {
  await check(`fragment seq ${v.seq}: samples, decode times, keyframe, bytes`, async () => {
    const { chunk, plain } = await checkFrame(v);
    const runs = parseFragment(plain, tracks);
    assertEqual(runs.length, v.runs.length, 'track runs');
    let bytes = 0;
    for (const expected of v.runs) {
      const run = runs.find((r) => r.trackId === expected.track_id);
      assertEqual(run.baseDecodeTime, expected.base_decode_time, `track ${expected.track_id} base decode time`);
      assertEqual(run.samples.length, expected.sample_count, `track ${expected.track_id} samples`);
      assertEqual(run.samples.reduce((s, x) => s + x.duration, 0), expected.duration, `track ${expected.track_id} duration`);
      assertEqual(run.samples[0].sync, expected.starts_with_sync_sample, `track ${expected.track_id} first sample sync`);
      for (const s of run.samples) {
        assertEqual(s.data.length, s.size, 'sample bytes lie inside the fragment');
        bytes += s.size;
      }
      if (tracks.get(run.trackId).handler === 'vide') {
        assertEqual(run.samples.length, v.video_frames, 'video frames');
        assertEqual(chunk.keyframe, run.samples[0].sync, 'chunk keyframe flag = first video sample is sync');
        // An H.264 sample in an MP4 is length-prefixed NAL units that fill it exactly.
        const dv = new DataView(run.samples[0].data.buffer, run.samples[0].data.byteOffset, run.samples[0].size);
        let at = 0;
        while (at < run.samples[0].size) at += 4 + dv.getUint32(at);
        assertEqual(at, run.samples[0].size, 'NAL unit lengths fill the first video sample');
      }
    }
    assertEqual(bytes, v.mdat_payload_size, 'all samples together fill the mdat');
  });
}

console.log(`${passes} passed, ${failures} failed`);
process.exit(failures === 0 && passes > 0 ? 0 : 1);
