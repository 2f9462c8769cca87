/**
 * End-to-end encryption envelope, version 1 — the browser side (SPEC S4, S5, S6, S16, S17;
 * DESIGN "Trust and encryption").
 *
 * The normative byte layouts are in docs/e2e-envelope.md. This module and the Python
 * implementation (bwlab/wire/envelope.py) are both tested against tests/vectors/e2e-v1.json.
 *
 * It uses WebCrypto only (globalThis.crypto.subtle), so it runs unchanged in a browser (a secure
 * context: HTTPS or localhost) and in Node 20. Keys stay CryptoKeys that cannot be extracted:
 *
 *  - importLinkFragment(location.hash, passphrase) opens the link with key (S5) and returns the
 *    system key record { kind, name, fingerprint, spki, privateKey, publicKey }; privateKey is a
 *    non-extractable ECDH key that the web client may keep in IndexedDB (S16).
 *  - unwrapContentKey(systemKey, streamId, wrapped) returns the stream's content key as a
 *    non-extractable AES-GCM CryptoKey (decrypt only).
 *  - openChunk(contentKey, streamId, kind, seq, sealed) returns the plaintext of an init segment,
 *    media fragment or position.
 *
 * Every failure is an EnvelopeError subclass with a stable `code`, the same codes as Python.
 */

export const VERSION = 1;
export const CONTENT_KEY_SIZE = 32;
export const DEFAULT_PBKDF2_ITERATIONS = 600000;
export const MIN_PBKDF2_ITERATIONS = 1000;
export const MAX_PBKDF2_ITERATIONS = 10000000;
export const MAX_SEQ = 2n ** 64n - 1n;
export const MAX_STREAM_ID_BYTES = 255;
export const MAX_LINK_NAME_BYTES = 256;

/** One-byte codes of the chunk kinds, used in the nonce and the associated data. */
export const CHUNK_KINDS = Object.freeze({ init: 1, media: 2, position: 3 });

/** Link kinds (S5) and the fragment parameter that carries each. */
export const LINK_KINDS = Object.freeze({ plain: 'k1', passphrase: 'p1' });

const GCM_NONCE_SIZE = 12;
const GCM_TAG_SIZE = 16;
const LINK_SALT_SIZE = 16;
const MAX_PKCS8_SIZE = 512;
const P256_SPKI_SIZE = 91;
// SEQUENCE { AlgorithmIdentifier { id-ecPublicKey, prime256v1 }, BIT STRING { 0x04 X Y } }
const P256_SPKI_PREFIX = hexToBytes('3059301306072a8648ce3d020106082a8648ce3d03010703420004');
const ECDH_P256 = Object.freeze({ name: 'ECDH', namedCurve: 'P-256' });
const WRAP_INFO_LABEL = 'bwlab-e2e-v1 key-wrap';
const TALK_INFO_LABEL = 'bwlab-e2e-v1 talk';
const TALK_CODE = 4;
/** Talk-back (operator → camera): the size of the talker's random talk id. */
export const TALK_ID_SIZE = 16;
const LINK_AAD = 'bwlab-link-v1';
const B64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const WRAPPED_FIELDS = ['version', 'key_fingerprint', 'ephemeral_public_key', 'nonce', 'ciphertext'];

// ------------------------------------------------------------------------------------------
// Errors: one tree, a stable code, a human message (CONVENTIONS 11)

export class EnvelopeError extends Error {
  constructor(message, code = 'envelope_error') {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Input that does not follow the byte layout: bad base64url, lengths, fields or keys. */
export class MalformedEnvelope extends EnvelopeError {
  constructor(message) { super(message, 'envelope_malformed'); }
}

/** A record or link of an envelope version this implementation does not know. */
export class UnsupportedVersion extends EnvelopeError {
  constructor(message) { super(message, 'envelope_unsupported_version'); }
}

/** An AES-GCM tag did not verify: altered bytes, or wrong key, stream id, kind or seq. */
export class DecryptionFailed extends EnvelopeError {
  constructor(message) { super(message, 'envelope_decryption_failed'); }
}

/** A wrapped content key was made for another system key (fingerprints differ, S6). */
export class WrongKey extends EnvelopeError {
  constructor(message) { super(message, 'envelope_wrong_key'); }
}

/** A passphrase link was opened without a passphrase (S5). */
export class PassphraseRequired extends EnvelopeError {
  constructor(message) { super(message, 'link_passphrase_required'); }
}

/** A passphrase link did not open with the passphrase given (or its bytes were altered). */
export class WrongPassphrase extends EnvelopeError {
  constructor(message) { super(message, 'link_wrong_passphrase'); }
}

// ------------------------------------------------------------------------------------------
// Bytes, text, base64url

function subtle() {
  const s = globalThis.crypto && globalThis.crypto.subtle;
  if (!s) {
    throw new EnvelopeError(
      'WebCrypto is not available: the web client must be served over HTTPS (or localhost)',
      'envelope_no_webcrypto',
    );
  }
  return s;
}

function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function toBytes(data, what) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new MalformedEnvelope(`${what} must be bytes`);
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) { out.set(p, offset); offset += p.length; }
  return out;
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) diff |= a[i] ^ b[i];
  return diff === 0;
}

function startsWith(bytes, prefix) {
  return bytes.length >= prefix.length && equalBytes(bytes.subarray(0, prefix.length), prefix);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function utf8(text, what) {
  if (typeof text !== 'string') throw new MalformedEnvelope(`${what} must be text`);
  if (LONE_SURROGATE.test(text)) throw new MalformedEnvelope(`${what} is not valid Unicode text`);
  return new TextEncoder().encode(text);
}

/** base64url (RFC 4648 §5) without padding. */
export function b64urlEncode(data) {
  const bytes = toBytes(data, 'data');
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64URL_ALPHABET[n >> 18] + B64URL_ALPHABET[(n >> 12) & 63]
      + B64URL_ALPHABET[(n >> 6) & 63] + B64URL_ALPHABET[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += B64URL_ALPHABET[n >> 18] + B64URL_ALPHABET[(n >> 12) & 63];
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64URL_ALPHABET[n >> 18] + B64URL_ALPHABET[(n >> 12) & 63] + B64URL_ALPHABET[(n >> 6) & 63];
  }
  return out;
}

/** Strict base64url without padding: any other character, or an impossible length, is malformed. */
export function b64urlDecode(text, what = 'value') {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new MalformedEnvelope(`${what} is not unpadded base64url`);
  }
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (const ch of text) {
    acc = (acc << 6) | B64URL_ALPHABET.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o] = (acc >> bits) & 0xff;
      o += 1;
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// Fingerprint (S6)

/** SHA-256 of the SPKI DER as uppercase hex in groups of four separated by one space. */
export async function fingerprint(spki) {
  const digest = new Uint8Array(await subtle().digest('SHA-256', toBytes(spki, 'public key')));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
  return hex.match(/.{4}/g).join(' ');
}

function checkSpki(spki, what) {
  if (spki.length !== P256_SPKI_SIZE || !startsWith(spki, P256_SPKI_PREFIX)) {
    throw new MalformedEnvelope(`${what} is not a P-256 SubjectPublicKeyInfo with an uncompressed point`);
  }
}

async function importPublicKey(spki, what) {
  checkSpki(spki, what);
  try {
    return await subtle().importKey('spki', spki, ECDH_P256, true, []);
  } catch (err) {
    throw new MalformedEnvelope(`${what} is not a point on P-256`);
  }
}

// ------------------------------------------------------------------------------------------
// Chunks

function kindCode(kind) {
  if (typeof kind === 'string') {
    const name = kind.toLowerCase();
    if (Object.prototype.hasOwnProperty.call(CHUNK_KINDS, name)) return CHUNK_KINDS[name];
    throw new MalformedEnvelope(`unknown chunk kind ${JSON.stringify(kind)}`);
  }
  if (Number.isInteger(kind)) {
    if (Object.values(CHUNK_KINDS).includes(kind)) return kind;
    throw new MalformedEnvelope(`unknown chunk kind code ${kind}`);
  }
  throw new MalformedEnvelope('chunk kind must be a name or a code');
}

function kindName(code) {
  return Object.keys(CHUNK_KINDS).find((name) => CHUNK_KINDS[name] === code);
}

function seqBigInt(seq) {
  let value;
  if (typeof seq === 'bigint') value = seq;
  else if (Number.isSafeInteger(seq)) value = BigInt(seq);
  else throw new MalformedEnvelope('sequence number must be a BigInt or a safe integer');
  if (value < 0n || value > MAX_SEQ) {
    throw new MalformedEnvelope('sequence number must be from 0 to 2**64-1');
  }
  return value;
}

function streamIdBytes(streamId) {
  const raw = utf8(streamId, 'stream id');
  if (raw.length < 1 || raw.length > MAX_STREAM_ID_BYTES) {
    throw new MalformedEnvelope(`stream id must be 1 to ${MAX_STREAM_ID_BYTES} UTF-8 bytes`);
  }
  return raw;
}

/** The 12-byte nonce of a chunk: kind code (1) || 00 00 00 || seq (8, big endian). */
export function chunkNonce(kind, seq) {
  const nonce = new Uint8Array(GCM_NONCE_SIZE);
  nonce[0] = kindCode(kind);
  new DataView(nonce.buffer).setBigUint64(4, seqBigInt(seq), false);
  return nonce;
}

/** The associated data of a chunk: version (1) || kind code (1) || seq (8, BE) || stream id UTF-8. */
export function chunkAad(streamId, kind, seq) {
  const head = new Uint8Array(10);
  head[0] = VERSION;
  head[1] = kindCode(kind);
  new DataView(head.buffer).setBigUint64(2, seqBigInt(seq), false);
  return concat(head, streamIdBytes(streamId));
}

/**
 * Import raw content-key bytes as a non-extractable AES-GCM key. The web client never needs this
 * (unwrapContentKey does it); tests use it with usages ['encrypt', 'decrypt'] to seal chunks.
 */
export async function importContentKey(raw, usages = ['decrypt']) {
  const bytes = toBytes(raw, 'content key');
  if (bytes.length !== CONTENT_KEY_SIZE) {
    throw new MalformedEnvelope(`content key must be ${CONTENT_KEY_SIZE} bytes`);
  }
  return subtle().importKey('raw', bytes, { name: 'AES-GCM' }, false, usages);
}

/** Seal a chunk with AES-256-GCM: returns ciphertext || 16-byte tag (plaintext length + 16). */
export async function sealChunk(contentKey, streamId, kind, seq, plaintext) {
  const params = {
    name: 'AES-GCM', iv: chunkNonce(kind, seq), additionalData: chunkAad(streamId, kind, seq), tagLength: 128,
  };
  return new Uint8Array(await subtle().encrypt(params, contentKey, toBytes(plaintext, 'plaintext')));
}

/**
 * Open a sealed chunk (S4, S17). Throws DecryptionFailed if the key, stream id, kind or seq
 * differ from sealing, or if a byte was altered.
 */
export async function openChunk(contentKey, streamId, kind, seq, ciphertext) {
  const code = kindCode(kind);
  const params = {
    name: 'AES-GCM', iv: chunkNonce(code, seq), additionalData: chunkAad(streamId, code, seq), tagLength: 128,
  };
  const sealed = toBytes(ciphertext, 'sealed chunk');
  if (sealed.length < GCM_TAG_SIZE) throw new MalformedEnvelope('sealed chunk is shorter than its 16-byte tag');
  try {
    return new Uint8Array(await subtle().decrypt(params, contentKey, sealed));
  } catch (err) {
    if (err && err.name === 'OperationError') {
      throw new DecryptionFailed(
        `${kindName(code)} chunk ${seq} of stream ${JSON.stringify(streamId)} does not open: `
        + 'wrong key, stream, kind or sequence number, or altered bytes',
      );
    }
    throw err;
  }
}

// ------------------------------------------------------------------------------------------
// Content key unwrapping

function parseWrapped(wrapped) {
  let record = wrapped;
  if (typeof record === 'string') {
    try { record = JSON.parse(record); } catch (err) { throw new MalformedEnvelope('wrapped key is not JSON'); }
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw new MalformedEnvelope('wrapped key must be an object');
  }
  if (!Number.isInteger(record.version)) throw new MalformedEnvelope("wrapped key: 'version' must be an integer");
  if (record.version !== VERSION) {
    throw new UnsupportedVersion(`wrapped key version ${record.version} is not supported (only ${VERSION})`);
  }
  const unknown = Object.keys(record).filter((k) => !WRAPPED_FIELDS.includes(k)).sort();
  if (unknown.length) throw new MalformedEnvelope(`wrapped key: unknown field '${unknown[0]}'`);
  const missing = WRAPPED_FIELDS.filter((k) => !Object.prototype.hasOwnProperty.call(record, k)).sort();
  if (missing.length) throw new MalformedEnvelope(`wrapped key: missing field '${missing[0]}'`);
  if (typeof record.key_fingerprint !== 'string') {
    throw new MalformedEnvelope("wrapped key: 'key_fingerprint' must be text");
  }
  const epk = b64urlDecode(record.ephemeral_public_key, "wrapped key: 'ephemeral_public_key'");
  const nonce = b64urlDecode(record.nonce, "wrapped key: 'nonce'");
  const ciphertext = b64urlDecode(record.ciphertext, "wrapped key: 'ciphertext'");
  checkSpki(epk, "wrapped key: 'ephemeral_public_key'");
  if (nonce.length !== GCM_NONCE_SIZE) throw new MalformedEnvelope(`wrapped key: 'nonce' must be ${GCM_NONCE_SIZE} bytes`);
  if (ciphertext.length !== CONTENT_KEY_SIZE + GCM_TAG_SIZE) {
    throw new MalformedEnvelope(`wrapped key: 'ciphertext' must be ${CONTENT_KEY_SIZE + GCM_TAG_SIZE} bytes`);
  }
  return { keyFingerprint: record.key_fingerprint, epk, nonce, ciphertext };
}

/**
 * Recover a stream's content key (S4) as a non-extractable AES-GCM CryptoKey (decrypt only).
 *
 * `systemKey` is the record from importLinkFragment (then a key made for another system is
 * reported as WrongKey before any work), or a bare ECDH private CryptoKey (then it shows up as
 * DecryptionFailed). `wrapped` is the wrapped-key record, as an object or its JSON text.
 */
async function unwrapRaw(systemKey, streamId, wrapped) {
  const privateKey = systemKey && systemKey.privateKey ? systemKey.privateKey : systemKey;
  const ownFingerprint = systemKey && systemKey.privateKey ? systemKey.fingerprint : null;
  const { keyFingerprint, epk, nonce, ciphertext } = parseWrapped(wrapped);
  if (ownFingerprint !== null && keyFingerprint !== ownFingerprint) {
    throw new WrongKey(`stream key was wrapped for key ${keyFingerprint}, not for this key ${ownFingerprint}`);
  }
  const aad = streamIdBytes(streamId);
  const ephemeral = await importPublicKey(epk, "wrapped key: 'ephemeral_public_key'");
  const shared = await subtle().deriveBits({ name: 'ECDH', public: ephemeral }, privateKey, 256);
  const ikm = await subtle().importKey('raw', shared, 'HKDF', false, ['deriveKey']);
  const info = concat(utf8(WRAP_INFO_LABEL, 'label'), new Uint8Array([0]), aad);
  const kek = await subtle().deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: epk, info },
    ikm,
    { name: 'AES-GCM', length: 256 },
    false,
    ['decrypt'],
  );
  let raw;
  try {
    raw = new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 }, kek, ciphertext));
  } catch (err) {
    if (err && err.name === 'OperationError') {
      throw new DecryptionFailed(
        `stream key does not open for stream ${JSON.stringify(streamId)}: wrong key or stream, or altered record`,
      );
    }
    throw err;
  }
  return raw;
}

export async function unwrapContentKey(systemKey, streamId, wrapped) {
  const raw = await unwrapRaw(systemKey, streamId, wrapped);
  try {
    return await importContentKey(raw, ['decrypt']);
  } finally {
    raw.fill(0);
  }
}

// ------------------------------------------------------------------------------------------
// Talk-back: the operator-to-camera direction (docs/e2e-envelope.md §13)

/** Import raw content-key bytes as the non-extractable HKDF secret talk keys derive from (tests). */
export async function importTalkSecret(raw) {
  const bytes = toBytes(raw, 'content key');
  if (bytes.length !== CONTENT_KEY_SIZE) throw new MalformedEnvelope(`content key must be ${CONTENT_KEY_SIZE} bytes`);
  return subtle().importKey('raw', bytes, 'HKDF', false, ['deriveKey']);
}

/**
 * Unwrap a stream's content key (as unwrapContentKey) as the secret of its talk keys: a
 * non-extractable HKDF CryptoKey usable for deriveKey only. The raw bytes are overwritten.
 */
export async function unwrapTalkSecret(systemKey, streamId, wrapped) {
  const raw = await unwrapRaw(systemKey, streamId, wrapped);
  try {
    return await importTalkSecret(raw);
  } finally {
    raw.fill(0);
  }
}

/** A talk's AES-GCM key: HKDF-SHA256(content key, salt = talk id (16 bytes), info = label || 0 || stream id). */
export async function deriveTalkKey(talkSecret, streamId, talkId, usages = ['encrypt']) {
  const salt = toBytes(talkId, 'talk id');
  if (salt.length !== TALK_ID_SIZE) throw new MalformedEnvelope(`talk id must be ${TALK_ID_SIZE} bytes`);
  const info = concat(utf8(TALK_INFO_LABEL, 'label'), new Uint8Array([0]), streamIdBytes(streamId));
  return subtle().deriveKey({ name: 'HKDF', hash: 'SHA-256', salt, info }, talkSecret,
    { name: 'AES-GCM', length: 256 }, false, usages);
}

/** The nonce of a talk packet: 0x04 || 00 00 00 || seq (8, big endian). */
export function talkNonce(seq) {
  const nonce = new Uint8Array(GCM_NONCE_SIZE);
  nonce[0] = TALK_CODE;
  new DataView(nonce.buffer).setBigUint64(4, seqBigInt(seq), false);
  return nonce;
}

/** The associated data of a talk packet: version (1) || 0x04 || seq (8, BE) || stream id UTF-8. */
export function talkAad(streamId, seq) {
  const head = new Uint8Array(10);
  head[0] = VERSION;
  head[1] = TALK_CODE;
  new DataView(head.buffer).setBigUint64(2, seqBigInt(seq), false);
  return concat(head, streamIdBytes(streamId));
}

/** Seal one Opus packet of a talk: ciphertext || 16-byte tag. */
export async function sealTalk(talkKey, streamId, seq, packet) {
  const params = { name: 'AES-GCM', iv: talkNonce(seq), additionalData: talkAad(streamId, seq), tagLength: 128 };
  return new Uint8Array(await subtle().encrypt(params, talkKey, toBytes(packet, 'talk packet')));
}

/** Open a talk packet (tests; the camera opens them). Throws DecryptionFailed or MalformedEnvelope. */
export async function openTalk(talkKey, streamId, seq, sealed) {
  const params = { name: 'AES-GCM', iv: talkNonce(seq), additionalData: talkAad(streamId, seq), tagLength: 128 };
  const bytes = toBytes(sealed, 'sealed talk packet');
  if (bytes.length < GCM_TAG_SIZE) throw new MalformedEnvelope('sealed talk packet is shorter than its 16-byte tag');
  try {
    return new Uint8Array(await subtle().decrypt(params, talkKey, bytes));
  } catch (err) {
    if (err && err.name === 'OperationError') {
      throw new DecryptionFailed(`talk packet ${seq} of stream ${JSON.stringify(streamId)} does not open: `
        + 'wrong key, talk, stream or sequence number, or altered bytes');
    }
    throw err;
  }
}

// ------------------------------------------------------------------------------------------
// Link with key (S5, S16)

function parseFragment(url) {
  if (typeof url !== 'string') throw new MalformedEnvelope('link must be text');
  const hash = url.indexOf('#');
  const fragment = hash >= 0 ? url.slice(hash + 1) : url;
  let key = null;
  let name = null;
  const seen = new Set();
  for (const part of fragment.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq < 0) throw new MalformedEnvelope(`link parameter '${part}' has no value`);
    const param = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (seen.has(param)) throw new MalformedEnvelope(`link parameter '${param}' appears twice`);
    seen.add(param);
    const kind = Object.keys(LINK_KINDS).find((k) => LINK_KINDS[k] === param);
    if (kind) {
      if (key !== null) throw new MalformedEnvelope('link carries more than one key');
      key = { kind, value };
    } else if (/^[kp][0-9]+$/.test(param)) {
      throw new UnsupportedVersion(`link key format '${param}' is not supported (only k1, p1)`);
    } else if (param === 'name') {
      if (!/^(?:[^%]|%[0-9A-Fa-f]{2})*$/.test(value)) throw new MalformedEnvelope('link name is not percent-encoded');
      try { name = decodeURIComponent(value); } catch (err) { throw new MalformedEnvelope('link name is not UTF-8'); }
      const size = utf8(name, 'link name').length;
      if (size < 1 || size > MAX_LINK_NAME_BYTES) {
        throw new MalformedEnvelope(`link name must be 1 to ${MAX_LINK_NAME_BYTES} UTF-8 bytes`);
      }
    }
    // Other parameters belong to the web client, not to the key: ignored here.
  }
  if (key === null) throw new MalformedEnvelope('link carries no key (no k1= or p1= in its fragment)');
  return { kind: key.kind, value: key.value, name };
}

/** 'plain' or 'passphrase', without opening the link (S5): ask for a passphrase only if needed. */
export function linkKind(url) {
  return parseFragment(url).kind;
}

async function openPassphraseBlob(blob, passphrase) {
  const header = LINK_SALT_SIZE + 4 + GCM_NONCE_SIZE;
  if (blob.length < header + GCM_TAG_SIZE) throw new MalformedEnvelope('passphrase link is truncated');
  const salt = blob.subarray(0, LINK_SALT_SIZE);
  const iterations = new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getUint32(LINK_SALT_SIZE, false);
  const nonce = blob.subarray(LINK_SALT_SIZE + 4, header);
  if (iterations < MIN_PBKDF2_ITERATIONS || iterations > MAX_PBKDF2_ITERATIONS) {
    throw new MalformedEnvelope(
      `passphrase link asks for ${iterations} iterations, outside ${MIN_PBKDF2_ITERATIONS}..${MAX_PBKDF2_ITERATIONS}`,
    );
  }
  if (passphrase === undefined || passphrase === null || passphrase === '') {
    throw new PassphraseRequired('this link with key is protected by a passphrase');
  }
  if (typeof passphrase !== 'string') throw new MalformedEnvelope('passphrase must be text');
  const secret = await subtle().importKey('raw', utf8(passphrase.normalize('NFC'), 'passphrase'), 'PBKDF2', false, ['deriveKey']);
  const key = await subtle().deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    secret,
    { name: 'AES-GCM', length: 256 },
    false,
    ['decrypt'],
  );
  try {
    return new Uint8Array(await subtle().decrypt(
      { name: 'AES-GCM', iv: nonce, additionalData: utf8(LINK_AAD, 'label'), tagLength: 128 }, key, blob.subarray(header),
    ));
  } catch (err) {
    if (err && err.name === 'OperationError') throw new WrongPassphrase('the passphrase does not open this link with key');
    throw err;
  }
}

function splitPayload(payload) {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (payload.length < 2) throw new MalformedEnvelope('link key payload is truncated');
  const pkcs8Len = view.getUint16(0, false);
  const endPkcs8 = 2 + pkcs8Len;
  if (payload.length < endPkcs8 + 2) throw new MalformedEnvelope('link key payload is truncated');
  const spkiLen = view.getUint16(endPkcs8, false);
  if (payload.length !== endPkcs8 + 2 + spkiLen) throw new MalformedEnvelope('link key payload has the wrong length');
  if (pkcs8Len > MAX_PKCS8_SIZE) throw new MalformedEnvelope('private key is too long for a P-256 PKCS#8');
  return { pkcs8: payload.slice(2, endPkcs8), spki: payload.slice(endPkcs8 + 2) };
}

/** Prove that the link's public key belongs to its private key, without extracting the latter. */
async function checkKeyPair(privateKey, publicKey) {
  const probe = await subtle().generateKey(ECDH_P256, false, ['deriveBits']);
  const a = new Uint8Array(await subtle().deriveBits({ name: 'ECDH', public: publicKey }, probe.privateKey, 256));
  const b = new Uint8Array(await subtle().deriveBits({ name: 'ECDH', public: probe.publicKey }, privateKey, 256));
  if (!equalBytes(a, b)) throw new MalformedEnvelope('link public key does not belong to its private key');
}

/**
 * Open the link with key (S5) — a whole URL or its fragment (location.hash). Returns
 * { kind, name, fingerprint, spki, privateKey, publicKey }: privateKey is a non-extractable
 * ECDH P-256 CryptoKey usable for deriveBits only (S16), fingerprint the S6 string.
 * A passphrase given for a plain link is ignored. Throws PassphraseRequired, WrongPassphrase,
 * MalformedEnvelope or UnsupportedVersion.
 */
export async function importLinkFragment(url, passphrase) {
  const { kind, value, name } = parseFragment(url);
  const blob = b64urlDecode(value, `link ${LINK_KINDS[kind]} value`);
  const payload = kind === 'plain' ? blob : await openPassphraseBlob(blob, passphrase);
  const { pkcs8, spki } = splitPayload(payload);
  let privateKey;
  try {
    privateKey = await subtle().importKey('pkcs8', pkcs8, ECDH_P256, false, ['deriveBits']);
  } catch (err) {
    throw new MalformedEnvelope('private key is not a P-256 PKCS#8 DER key');
  } finally {
    pkcs8.fill(0);
    payload.fill(0);
  }
  const publicKey = await importPublicKey(spki, 'link public key');
  await checkKeyPair(privateKey, publicKey);
  return Object.freeze({ kind, name, fingerprint: await fingerprint(spki), spki, privateKey, publicKey });
}
