// webui/js/e2e.js against the shared end-to-end vectors (SPEC S4, S5, S6, S16, S17).
//
//   node tests/js/envelope.test.mjs
//
// Opens every link, unwraps every wrapped key, opens (and re-seals) every chunk, computes every
// fingerprint, and checks that every invalid vector fails with the expected error code.
// Prints one line per check; exits 1 on the first mismatch of any check, after running all.
// Run by tests/unit/test_envelope_js.py.

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import * as e2e from '../../webui/js/e2e.js';

const vectorsPath = fileURLToPath(new URL('../vectors/e2e-v1.json', import.meta.url));
const vectors = JSON.parse(await readFile(vectorsPath, 'utf8'));

let failures = 0;
let passes = 0;

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

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

function assertEqual(actual, expected, what) {
  if (actual !== expected) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function fromHex(text) {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

async function expectError(code, fn) {
  let caught = null;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert(caught !== null, `expected ${code}, but nothing was thrown`);
  assert(caught instanceof e2e.EnvelopeError, `expected an EnvelopeError, got ${caught && caught.stack}`);
  assertEqual(caught.code, code, `error code (${caught.message})`);
  return caught;
}

// --- base64url and fingerprints (S6) --------------------------------------------------------

await check('base64url round trip of every length 0..70', async () => {
  for (let n = 0; n <= 70; n += 1) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
    const text = e2e.b64urlEncode(bytes);
    assert(!text.includes('='), 'no padding');
    assertEqual(hex(e2e.b64urlDecode(text)), hex(bytes), `length ${n}`);
  }
  await expectError('envelope_malformed', () => e2e.b64urlDecode('AAAA=='));
  await expectError('envelope_malformed', () => e2e.b64urlDecode('AA+A'));
  await expectError('envelope_malformed', () => e2e.b64urlDecode('AAAAA'));
});

for (const which of ['system_key', 'other_system_key']) {
  const rec = vectors[which];
  await check(`fingerprint of ${which}`, async () => {
    const spki = e2e.b64urlDecode(rec.public_spki);
    assertEqual(hex(spki), rec.public_spki_hex, 'SPKI');
    assertEqual(await e2e.fingerprint(spki), rec.fingerprint, 'fingerprint');
    assertEqual(e2e.b64urlEncode(spki), rec.public_spki, 'base64url re-encoding');
  });
}

// --- links (S5, S16) ------------------------------------------------------------------------

const systemKeys = [];
for (const [i, link] of vectors.links.entries()) {
  await check(`link ${i} (${link.kind}) opens to the system key`, async () => {
    assertEqual(e2e.linkKind(link.url), link.kind, 'linkKind');
    const key = await e2e.importLinkFragment(link.url, link.passphrase ?? undefined);
    assertEqual(key.kind, link.kind, 'kind');
    assertEqual(key.name, link.name, 'name');
    assertEqual(key.fingerprint, vectors.system_key.fingerprint, 'fingerprint');
    assertEqual(hex(key.spki), vectors.system_key.public_spki_hex, 'spki');
    assertEqual(key.privateKey.extractable, false, 'private key extractable');
    assertEqual(key.privateKey.type, 'private', 'private key type');
    assertEqual(key.privateKey.algorithm.name, 'ECDH', 'private key algorithm');
    assertEqual(key.privateKey.algorithm.namedCurve, 'P-256', 'private key curve');
    assertEqual(key.privateKey.usages.join(','), 'deriveBits', 'private key usages');
    // Only the fragment, as location.hash gives it, is enough.
    const hash = link.url.slice(link.url.indexOf('#'));
    const again = await e2e.importLinkFragment(hash, link.passphrase ?? undefined);
    assertEqual(again.fingerprint, key.fingerprint, 'fingerprint from location.hash');
    systemKeys.push(key);
  });
  if (link.kind === 'passphrase') {
    await check(`link ${i}: passphrase required, wrong passphrase, NFD passphrase`, async () => {
      await expectError('link_passphrase_required', () => e2e.importLinkFragment(link.url));
      await expectError('link_passphrase_required', () => e2e.importLinkFragment(link.url, ''));
      await expectError('link_wrong_passphrase', () => e2e.importLinkFragment(link.url, `${link.passphrase}!`));
      const nfd = link.passphrase.normalize('NFD');
      const key = await e2e.importLinkFragment(link.url, nfd);
      assertEqual(key.fingerprint, vectors.system_key.fingerprint, 'fingerprint with NFD passphrase');
    });
  }
}

let otherKey = null;
await check('other system link opens to the other key', async () => {
  otherKey = await e2e.importLinkFragment(vectors.other_system_link.url);
  assertEqual(otherKey.fingerprint, vectors.other_system_key.fingerprint, 'fingerprint');
  assertEqual(otherKey.name, vectors.other_system_link.name, 'name');
});

for (const bad of vectors.invalid.links) {
  await check(`invalid link: ${bad.description} -> ${bad.error}`, async () => {
    await expectError(bad.error, () => e2e.importLinkFragment(bad.url, bad.passphrase ?? undefined));
  });
}

// --- wrapped content keys (S4) --------------------------------------------------------------

const systemKey = systemKeys[0];
const contentKeys = new Map();
for (const [i, w] of vectors.wrapped_keys.entries()) {
  await check(`wrapped key ${i} (stream ${w.stream_id}) unwraps`, async () => {
    assertEqual(w.wrapped.key_fingerprint, vectors.system_key.fingerprint, 'record fingerprint');
    const key = await e2e.unwrapContentKey(systemKey, w.stream_id, w.wrapped);
    assertEqual(key.extractable, false, 'content key extractable');
    assertEqual(key.algorithm.name, 'AES-GCM', 'content key algorithm');
    assertEqual(key.algorithm.length, 256, 'content key length');
    assertEqual(key.usages.join(','), 'decrypt', 'content key usages');
    // A bare CryptoKey and the JSON text of the record work too.
    await e2e.unwrapContentKey(systemKey.privateKey, w.stream_id, JSON.stringify(w.wrapped));
    contentKeys.set(w.content_key_hex, key);
  });
}

for (const bad of vectors.invalid.wrapped_keys) {
  await check(`invalid wrapped key: ${bad.description} -> ${bad.error}`, async () => {
    await expectError(bad.error, () => e2e.unwrapContentKey(systemKey, bad.stream_id, bad.wrapped));
  });
}

await check('a key made for the other system unwraps with the other key', async () => {
  const bad = vectors.invalid.wrapped_keys.find((b) => b.error === 'envelope_wrong_key');
  const key = await e2e.unwrapContentKey(otherKey, bad.stream_id, bad.wrapped);
  const chunk = vectors.chunks.find((c) => c.stream_id === bad.stream_id);
  const plain = await e2e.openChunk(key, chunk.stream_id, chunk.kind, BigInt(chunk.seq), fromHex(chunk.ciphertext_hex));
  assertEqual(hex(plain), chunk.plaintext_hex, 'plaintext');
  // Without the fingerprint (a bare CryptoKey), the wrong key shows as a failed decryption.
  await expectError('envelope_decryption_failed', () => e2e.unwrapContentKey(systemKey.privateKey, bad.stream_id, bad.wrapped));
});

// --- chunks (S4, S17) -----------------------------------------------------------------------

for (const [i, c] of vectors.chunks.entries()) {
  await check(`chunk ${i} (${c.kind} #${c.seq} of ${c.stream_id}) opens and re-seals`, async () => {
    const seq = BigInt(c.seq);
    assertEqual(e2e.CHUNK_KINDS[c.kind], c.kind_code, 'kind code');
    assertEqual(hex(e2e.chunkNonce(c.kind, seq)), c.nonce_hex, 'nonce');
    assertEqual(hex(e2e.chunkAad(c.stream_id, c.kind, seq)), c.aad_hex, 'aad');
    const unwrapped = contentKeys.get(c.content_key_hex);
    assert(unwrapped, 'content key of the chunk comes from a wrapped-key vector');
    const plain = await e2e.openChunk(unwrapped, c.stream_id, c.kind, seq, fromHex(c.ciphertext_hex));
    assertEqual(hex(plain), c.plaintext_hex, 'plaintext');
    const sealing = await e2e.importContentKey(fromHex(c.content_key_hex), ['encrypt', 'decrypt']);
    const sealed = await e2e.sealChunk(sealing, c.stream_id, c.kind_code, seq, fromHex(c.plaintext_hex));
    assertEqual(hex(sealed), c.ciphertext_hex, 'ciphertext sealed by e2e.js');
    if (seq <= BigInt(Number.MAX_SAFE_INTEGER)) {
      const again = await e2e.openChunk(sealing, c.stream_id, c.kind_code, Number(seq), sealed);
      assertEqual(hex(again), c.plaintext_hex, 'plaintext with a Number seq and a kind code');
    }
  });
}

for (const bad of vectors.invalid.chunks) {
  await check(`invalid chunk: ${bad.description} -> ${bad.error}`, async () => {
    const key = await e2e.importContentKey(fromHex(bad.content_key_hex));
    await expectError(bad.error, () => e2e.openChunk(key, bad.stream_id, bad.kind, BigInt(bad.seq), fromHex(bad.ciphertext_hex)));
  });
}

console.log(`${passes} passed, ${failures} failed`);
process.exit(failures === 0 && passes > 0 ? 0 : 1);
