/**
 * Just enough fragmented MP4 (ISO/IEC 14496-12) for the low-latency view (SPEC D6, L5): the
 * tracks, the H.264 decoder configuration (avcC) and the AAC AudioSpecificConfig of an init
 * segment, and the samples of a media fragment (moof + mdat) with their bytes, decode times and
 * keyframe flags, to feed WebCodecs' VideoDecoder and AudioDecoder. The Python twin is
 * bwlab/wire/fmp4.py (parse_init, parse_fragment); tests/js/chunk.test.mjs checks both read the same media the same way.
 */

export class Mp4Error extends Error {
  constructor(message) {
    super(message);
    this.name = 'Mp4Error';
  }
}

const SAMPLE_IS_NON_SYNC = 0x00010000;

function fourcc(bytes, at) {
  return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
}

/** The boxes laid end to end in bytes[start:end]: {type, start, payload, end}. */
export function* boxes(bytes, start = 0, end = bytes.length) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = start;
  while (offset < end) {
    if (end - offset < 8) throw new Mp4Error(`truncated box header at offset ${offset}`);
    let size = view.getUint32(offset);
    const type = fourcc(bytes, offset + 4);
    let payload = offset + 8;
    if (size === 1) {
      if (end - offset < 16) throw new Mp4Error(`truncated large box header at offset ${offset}`);
      size = Number(view.getBigUint64(payload));
      payload += 8;
    } else if (size === 0) {
      size = end - offset;
    }
    if (size < payload - offset || offset + size > end) throw new Mp4Error(`box ${type} at offset ${offset} overruns its parent`);
    yield { type, start: offset, payload, end: offset + size };
    offset += size;
  }
}

/** Every box reached by following `path` (types, outermost first) from a range. */
export function find(bytes, path, start = 0, end = bytes.length) {
  let found = [{ type: '', start, payload: start, end }];
  for (const type of path) {
    const next = [];
    for (const parent of found) {
      for (const box of boxes(bytes, parent.payload, parent.end)) if (box.type === type) next.push(box);
    }
    found = next;
  }
  return found;
}

function asBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function hex2(n) {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

/** One MPEG-4 descriptor at `at`: { tag, payload, end } (ISO/IEC 14496-1, size in 7-bit groups). */
function descriptor(bytes, at) {
  const tag = bytes[at];
  let size = 0;
  let p = at + 1;
  for (let i = 0; i < 4; i += 1) {
    const b = bytes[p];
    p += 1;
    size = (size << 7) | (b & 0x7f);
    if (!(b & 0x80)) break;
  }
  if (p + size > bytes.length) throw new Mp4Error(`descriptor ${tag} at offset ${at} overruns its box`);
  return { tag, payload: p, end: p + size };
}

/**
 * An AAC sample entry: channels, sample rate and, from its esds, the AudioSpecificConfig
 * (`audioConfig`, the `description` of WebCodecs' AudioDecoder) and the codec string
 * `mp4a.40.<audio object type>`.
 */
function mp4aEntry(bytes, view, entry) {
  const track = { codec: 'mp4a', channels: view.getUint16(entry.payload + 16), sampleRate: view.getUint32(entry.payload + 24) >>> 16 };
  for (const child of boxes(bytes, entry.payload + 28, entry.end)) {
    if (child.type !== 'esds') continue;
    const es = descriptor(bytes, child.payload + 4);
    if (es.tag !== 0x03) throw new Mp4Error('esds holds no ES descriptor');
    const esFlags = bytes[es.payload + 2];
    let p = es.payload + 3 + (esFlags & 0x80 ? 2 : 0) + (esFlags & 0x20 ? 1 + bytes[es.payload + 3] : 0) + (esFlags & 0x40 ? 2 : 0);
    const config = descriptor(bytes, p);
    if (config.tag !== 0x04) throw new Mp4Error('esds holds no decoder configuration');
    const objectType = bytes[config.payload];
    p = config.payload + 13;
    if (p < config.end) {
      const specific = descriptor(bytes, p);
      if (specific.tag === 0x05) track.audioConfig = bytes.slice(specific.payload, specific.end);
    }
    if (objectType === 0x40 && track.audioConfig && track.audioConfig.length) track.codec = `mp4a.40.${track.audioConfig[0] >> 3}`;
  }
  return track;
}

/**
 * The tracks of an init segment (ftyp + moov), by track id:
 * { id, handler: 'vide'|'soun', timescale, codec, avcC (video: Uint8Array), width, height,
 *   audioConfig (AAC: the AudioSpecificConfig), channels, sampleRate, defaultDuration, defaultFlags }.
 */
export function parseInit(data) {
  const bytes = asBytes(data);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const trex = new Map();
  for (const box of find(bytes, ['moov', 'mvex', 'trex'])) {
    const p = box.payload + 4;
    trex.set(view.getUint32(p), { duration: view.getUint32(p + 8), flags: view.getUint32(p + 16) });
  }
  const tracks = new Map();
  for (const trak of find(bytes, ['moov', 'trak'])) {
    const [tkhd] = find(bytes, ['tkhd'], trak.payload, trak.end);
    const id = view.getUint32(tkhd.payload + (bytes[tkhd.payload] === 1 ? 20 : 12));
    const [mdhd] = find(bytes, ['mdia', 'mdhd'], trak.payload, trak.end);
    const timescale = view.getUint32(mdhd.payload + (bytes[mdhd.payload] === 1 ? 20 : 12));
    const [hdlr] = find(bytes, ['mdia', 'hdlr'], trak.payload, trak.end);
    const handler = fourcc(bytes, hdlr.payload + 8);
    const [stsd] = find(bytes, ['mdia', 'minf', 'stbl', 'stsd'], trak.payload, trak.end);
    const defaults = trex.get(id) || { duration: 0, flags: 0 };
    const track = { id, handler, timescale, codec: null, defaultDuration: defaults.duration, defaultFlags: defaults.flags };
    for (const entry of boxes(bytes, stsd.payload + 8, stsd.end)) {
      if (entry.type === 'avc1' || entry.type === 'avc3') {
        track.width = view.getUint16(entry.payload + 24);
        track.height = view.getUint16(entry.payload + 26);
        for (const child of boxes(bytes, entry.payload + 78, entry.end)) {
          if (child.type === 'avcC') {
            track.avcC = bytes.slice(child.payload, child.end);
            track.codec = `${entry.type}.${hex2(track.avcC[1])}${hex2(track.avcC[2])}${hex2(track.avcC[3])}`;
          }
        }
      } else if (entry.type === 'mp4a') {
        Object.assign(track, mp4aEntry(bytes, view, entry));
      }
    }
    if (handler === 'vide' && !track.avcC) throw new Mp4Error(`video track ${id} has no avcC record`);
    tracks.set(id, track);
  }
  if (tracks.size === 0) throw new Mp4Error('init segment declares no track');
  return tracks;
}

/**
 * The track runs of a media fragment: [{ trackId, baseDecodeTime, samples: [{ offset, size,
 * duration, decodeTime, compositionOffset, sync, data }] }], with `data` a view of the sample's
 * bytes in the fragment. Data offsets are relative to the moof (default-base-is-moof, as MSE
 * expects) unless the tfhd gives a base data offset.
 */
export function parseFragment(data, tracks) {
  const bytes = asBytes(data);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const runs = [];
  for (const moof of find(bytes, ['moof'])) {
    for (const traf of find(bytes, ['traf'], moof.payload, moof.end)) {
      const [tfhd] = find(bytes, ['tfhd'], traf.payload, traf.end);
      const tfFlags = view.getUint32(tfhd.payload) & 0xffffff;
      const trackId = view.getUint32(tfhd.payload + 4);
      const track = tracks.get(trackId);
      if (!track) throw new Mp4Error(`fragment refers to undeclared track ${trackId}`);
      let p = tfhd.payload + 8;
      let base = moof.start;
      if (tfFlags & 0x01) { base = Number(view.getBigUint64(p)); p += 8; }
      if (tfFlags & 0x02) p += 4;
      let defaultDuration = track.defaultDuration;
      let defaultSize = 0;
      let defaultFlags = track.defaultFlags;
      if (tfFlags & 0x08) { defaultDuration = view.getUint32(p); p += 4; }
      if (tfFlags & 0x10) { defaultSize = view.getUint32(p); p += 4; }
      if (tfFlags & 0x20) { defaultFlags = view.getUint32(p); }
      const tfdts = find(bytes, ['tfdt'], traf.payload, traf.end);
      if (tfdts.length !== 1) throw new Mp4Error(`traf of track ${trackId} has no single tfdt`);
      const tfdt = tfdts[0];
      const baseDecodeTime = bytes[tfdt.payload] === 1 ? Number(view.getBigUint64(tfdt.payload + 4)) : view.getUint32(tfdt.payload + 4);
      const samples = [];
      let decodeTime = baseDecodeTime;
      let dataOffset = base;
      for (const trun of find(bytes, ['trun'], traf.payload, traf.end)) {
        const trFlags = view.getUint32(trun.payload) & 0xffffff;
        const count = view.getUint32(trun.payload + 4);
        let q = trun.payload + 8;
        if (trFlags & 0x001) { dataOffset = base + view.getInt32(q); q += 4; }
        let firstFlags = null;
        if (trFlags & 0x004) { firstFlags = view.getUint32(q); q += 4; }
        for (let i = 0; i < count; i += 1) {
          let duration = defaultDuration;
          let size = defaultSize;
          let flags = defaultFlags;
          let compositionOffset = 0;
          if (trFlags & 0x100) { duration = view.getUint32(q); q += 4; }
          if (trFlags & 0x200) { size = view.getUint32(q); q += 4; }
          if (trFlags & 0x400) { flags = view.getUint32(q); q += 4; }
          if (trFlags & 0x800) { compositionOffset = view.getInt32(q); q += 4; }
          if (i === 0 && firstFlags !== null) flags = firstFlags;
          if (dataOffset + size > bytes.length) throw new Mp4Error(`sample ${i} of track ${trackId} lies past the fragment`);
          samples.push({
            offset: dataOffset, size, duration, decodeTime, compositionOffset,
            sync: (flags & SAMPLE_IS_NON_SYNC) === 0, data: bytes.subarray(dataOffset, dataOffset + size),
          });
          dataOffset += size;
          decodeTime += duration;
        }
      }
      runs.push({ trackId, baseDecodeTime, samples });
    }
  }
  if (runs.length === 0) throw new Mp4Error('fragment has no moof/traf');
  return runs;
}

const SYNC_FLAGS = 0x02000000; // depends on no other sample
const NON_SYNC_FLAGS = 0x01000000 | SAMPLE_IS_NON_SYNC; // depends on others

function concat(parts, at = 0) {
  const out = new Uint8Array(at + parts.reduce((n, p) => n + p.length, 0));
  let p = at;
  for (const part of parts) { out.set(part, p); p += part.length; }
  return out;
}

function box(type, ...parts) {
  const out = concat(parts, 8);
  new DataView(out.buffer).setUint32(0, out.length);
  for (let i = 0; i < 4; i += 1) out[4 + i] = type.charCodeAt(i);
  return out;
}

function words(version, flags, values, { wide = [] } = {}) {
  const out = new Uint8Array(4 + 8 * wide.length + 4 * values.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, (version << 24) | flags);
  let p = 4;
  for (const v of wide) { view.setBigUint64(p, BigInt(v)); p += 8; }
  for (const v of values) { view.setUint32(p, v >>> 0); p += 4; }
  return out;
}

/**
 * A media fragment (moof + mdat, default-base-is-moof as MSE expects) of one track:
 * `samples` [{ duration, data, sync }] from `baseDecodeTime`, in the track's timescale; what
 * parseFragment reads back.
 */
export function writeFragment(trackId, sequence, baseDecodeTime, samples) {
  const table = samples.flatMap((s) => [s.duration, s.data.length, s.sync ? SYNC_FLAGS : NON_SYNC_FLAGS]);
  const trunFor = (offset) => box('trun', words(0, 0x000701, [samples.length, offset, ...table]));
  const traf = (offset) => box('traf', box('tfhd', words(0, 0x020000, [trackId])),
    box('tfdt', words(1, 0, [], { wide: [baseDecodeTime] })), trunFor(offset));
  const size = box('moof', box('mfhd', words(0, 0, [sequence])), traf(0)).length;
  const moof = box('moof', box('mfhd', words(0, 0, [sequence])), traf(size + 8));
  return concat([moof, box('mdat', ...samples.map((s) => s.data))]);
}
