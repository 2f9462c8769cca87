// webui/js/e2e.js's talk-back direction against the shared vectors (issue 16 item 3;
// docs/e2e-envelope.md §13):
//
//   node tests/js/talk.test.mjs
//
// Opens the link with key of e2e-v1.json, unwraps the stream's content key as the talk secret,
// derives each talk's key, seals every packet byte for byte as Python did, opens it again, and
// checks that every invalid vector fails with the expected error code. Prints one line per check;
// exits 1 if any failed. Run by tests/unit/test_talk_envelope.py.

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import * as e2e from '../../webui/js/e2e.js';
import { assertEqual, check, finish, fromHex, hex } from './harness.mjs';

const load = async (name) => JSON.parse(await readFile(fileURLToPath(new URL(`../vectors/${name}`, import.meta.url)), 'utf8'));
const base = await load('e2e-v1.json');
const vectors = await load('e2e-talk-v1.json');

const systemKey = await e2e.importLinkFragment(base.links[0].url);
const secret = await e2e.unwrapTalkSecret(systemKey, vectors.stream_id, vectors.wrapped);
const keys = [];
for (const talk of vectors.talks) {
  keys.push(await e2e.deriveTalkKey(secret, vectors.stream_id, fromHex(talk.talk_id_hex), ['encrypt', 'decrypt']));
}

await check('the talk secret is not extractable and only derives keys', async () => {
  assertEqual(secret.extractable, false, 'extractable');
  assertEqual(secret.usages.join(), 'deriveKey', 'usages');
});

for (const [i, talk] of vectors.talks.entries()) {
  for (const p of talk.packets) {
    await check(`talk ${i} packet ${p.seq}: nonce, AAD, seal and open`, async () => {
      const seq = BigInt(p.seq);
      assertEqual(hex(e2e.talkNonce(seq)), p.nonce_hex, 'nonce');
      assertEqual(hex(e2e.talkAad(vectors.stream_id, seq)), p.aad_hex, 'aad');
      assertEqual(hex(await e2e.sealTalk(keys[i], vectors.stream_id, seq, fromHex(p.plaintext_hex))), p.sealed_hex, 'sealed');
      assertEqual(hex(await e2e.openTalk(keys[i], vectors.stream_id, seq, fromHex(p.sealed_hex))), p.plaintext_hex, 'opened');
    });
  }
  await check(`talk ${i}: the key derived from the raw content key seals the same`, async () => {
    const fromRaw = await e2e.importTalkSecret(fromHex(vectors.content_key_hex));
    const key = await e2e.deriveTalkKey(fromRaw, vectors.stream_id, fromHex(talk.talk_id_hex));
    const p = talk.packets[1];
    assertEqual(hex(await e2e.sealTalk(key, vectors.stream_id, BigInt(p.seq), fromHex(p.plaintext_hex))), p.sealed_hex, 'sealed');
  });
}

for (const bad of vectors.invalid) {
  await check(`invalid: ${bad.why} → ${bad.code}`, async () => {
    let caught = null;
    try {
      await e2e.openTalk(keys[bad.talk], bad.stream_id || vectors.stream_id, BigInt(bad.seq), fromHex(bad.sealed_hex));
    } catch (err) {
      caught = err;
    }
    if (!(caught instanceof e2e.EnvelopeError)) throw new Error(`expected ${bad.code}, got ${caught}`);
    assertEqual(caught.code, bad.code, 'code');
  });
}

await check('a talk id of 15 bytes is malformed', async () => {
  let caught = null;
  try {
    await e2e.deriveTalkKey(secret, vectors.stream_id, new Uint8Array(15));
  } catch (err) {
    caught = err;
  }
  assertEqual(caught && caught.code, 'envelope_malformed', 'code');
});

finish('talk vectors');
