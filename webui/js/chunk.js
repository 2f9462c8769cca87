/**
 * The media chunk frame as viewers receive it over the live and recording WebSockets
 * (layout: bwlab/wire/chunk.py, version 1; DESIGN "Media").
 *
 *   0   4  magic "BWC1"
 *   4   1  kind   1 init, 2 media, 3 position
 *   5   1  flags  bit 0: the fragment begins with a keyframe
 *   6   2  stream id length n (1..64)
 *   8   8  seq (u64)
 *   16  8  capture time, µs since the POSIX epoch, camera clock (i64)
 *   24  4  duration, µs (u32)
 *   28  n  stream id, ASCII
 *   28+n   sealed payload (AES-256-GCM ciphertext || 16-byte tag)
 *   -16    upload tag (for the hub; viewers skip it)
 *
 * parseChunk() only reads the cleartext header; e2e.openChunk() opens the sealed payload with
 * the stream's content key, binding kind, seq and stream id.
 */

export const MAGIC = 'BWC1';
export const HEADER_SIZE = 28;
export const KINDS = Object.freeze({ 1: 'init', 2: 'media', 3: 'position' });
export const MAX_STREAM_ID = 64;
const GCM_TAG_SIZE = 16;
const UPLOAD_TAG_SIZE = 16;

/** A frame that is not a valid chunk; `code` matches bwlab.wire.chunk.ChunkError codes. */
export class ChunkError extends Error {
  constructor(message, code = 'bad_chunk') {
    super(message);
    this.name = 'ChunkError';
    this.code = code;
  }
}

function bytesOf(frame) {
  if (frame instanceof Uint8Array) return frame;
  if (frame instanceof ArrayBuffer) return new Uint8Array(frame);
  if (ArrayBuffer.isView(frame)) return new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);
  throw new ChunkError('a chunk frame must be bytes');
}

/**
 * Parse one binary frame. Returns
 * { kind: 'init'|'media'|'position', kindCode, keyframe, seq (BigInt), captureTimeUs (BigInt),
 *   captureTime (seconds, Number), duration (seconds), streamId, sealed (Uint8Array view) }.
 */
export function parseChunk(frame) {
  const bytes = bytesOf(frame);
  if (bytes.length < HEADER_SIZE) throw new ChunkError('chunk is shorter than its header', 'truncated_chunk');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== MAGIC) throw new ChunkError('chunk does not start with BWC1', 'bad_magic');
  const kindCode = bytes[4];
  const kind = KINDS[kindCode];
  if (!kind) throw new ChunkError(`unknown chunk kind ${kindCode}`, 'bad_kind');
  const flags = bytes[5];
  const sidLength = view.getUint16(6);
  if (sidLength < 1 || sidLength > MAX_STREAM_ID) throw new ChunkError('stream id length out of range');
  const end = HEADER_SIZE + sidLength;
  if (bytes.length < end + GCM_TAG_SIZE + UPLOAD_TAG_SIZE) {
    throw new ChunkError('chunk is truncated: no room for the sealed payload and upload tag', 'truncated_chunk');
  }
  let streamId = '';
  for (let i = HEADER_SIZE; i < end; i += 1) {
    if (bytes[i] > 0x7f) throw new ChunkError('stream id is not ASCII');
    streamId += String.fromCharCode(bytes[i]);
  }
  const captureTimeUs = view.getBigInt64(16);
  return {
    kind,
    kindCode,
    keyframe: (flags & 0x01) !== 0,
    seq: view.getBigUint64(8),
    captureTimeUs,
    captureTime: Number(captureTimeUs) / 1e6,
    duration: view.getUint32(24) / 1e6,
    streamId,
    sealed: bytes.subarray(end, bytes.length - UPLOAD_TAG_SIZE),
  };
}
