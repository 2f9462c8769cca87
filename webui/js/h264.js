/**
 * Just enough H.264 (ITU-T H.264, CAVLC) for the view with sound to hold the picture while the
 * camera sends sound only (issue 16 item 7, docs/decisions.md "Sound only in the view with
 * sound"): the sequence and picture parameter sets, the first fields of a slice header, and a
 * "skipped" picture — one P slice whose every macroblock is P_Skip, which a decoder turns into an
 * exact copy of the previous picture. It is a non-reference picture: whatever comes after it
 * decodes as if it had never been there.
 *
 * `HoldPicture` follows a stream's samples (length-prefixed NAL units, as in MP4) and makes the
 * skipped picture that fits the last one; null when it cannot (CABAC, slice groups, nothing seen).
 */

export class H264Error extends Error {
  constructor(message) {
    super(message);
    this.name = 'H264Error';
  }
}

const NAL_SLICE = 1;
const NAL_IDR = 5;
const NAL_SPS = 7;
const NAL_PPS = 8;
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** The RBSP of a NAL unit (its header byte dropped, emulation prevention bytes removed). */
export function unescape(nal) {
  const out = new Uint8Array(nal.length);
  let n = 0;
  let zeros = 0;
  for (let i = 1; i < nal.length; i += 1) {
    const b = nal[i];
    if (zeros >= 2 && b === 3) { zeros = 0; continue; }
    zeros = b === 0 ? zeros + 1 : 0;
    out[n] = b;
    n += 1;
  }
  return out.subarray(0, n);
}

/** The NAL units of a sample of `lengthSize`-byte length-prefixed units. */
export function* nalUnits(sample, lengthSize = 4) {
  let p = 0;
  while (p + lengthSize <= sample.length) {
    let size = 0;
    for (let i = 0; i < lengthSize; i += 1) size = size * 256 + sample[p + i];
    p += lengthSize;
    if (p + size > sample.length) throw new H264Error(`NAL unit of ${size} bytes overruns its sample`);
    yield sample.subarray(p, p + size);
    p += size;
  }
}

class BitReader {
  constructor(bytes) {
    this.bytes = bytes;
    this.pos = 0;
  }

  bit() {
    if (this.pos >= this.bytes.length * 8) throw new H264Error('truncated NAL unit');
    const b = (this.bytes[this.pos >> 3] >> (7 - (this.pos & 7))) & 1;
    this.pos += 1;
    return b;
  }

  bits(n) {
    let v = 0;
    for (let i = 0; i < n; i += 1) v = v * 2 + this.bit();
    return v;
  }

  ue() {
    let zeros = 0;
    while (this.bit() === 0) {
      zeros += 1;
      if (zeros > 31) throw new H264Error('Exp-Golomb code too long');
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  se() {
    const k = this.ue();
    return k % 2 ? (k + 1) / 2 : -k / 2;
  }
}

class BitWriter {
  constructor() {
    this.out = [];
    this.acc = 0;
    this.n = 0;
  }

  bits(value, n) {
    for (let i = n - 1; i >= 0; i -= 1) {
      this.acc = (this.acc << 1) | (Math.floor(value / 2 ** i) & 1);
      this.n += 1;
      if (this.n === 8) { this.out.push(this.acc); this.acc = 0; this.n = 0; }
    }
  }

  ue(value) {
    const code = value + 1;
    const length = Math.floor(Math.log2(code));
    this.bits(0, length);
    this.bits(code, length + 1);
  }

  se(value) {
    this.ue(value > 0 ? 2 * value - 1 : -2 * value);
  }

  /** rbsp_trailing_bits, then the NAL unit: its header byte and emulation prevention. */
  nal(header) {
    this.bits(1, 1);
    while (this.n) this.bits(0, 1);
    const out = [header];
    let zeros = 0;
    for (const b of this.out) {
      if (zeros >= 2 && b <= 3) { out.push(3); zeros = 0; }
      out.push(b);
      zeros = b === 0 ? zeros + 1 : 0;
    }
    return Uint8Array.from(out);
  }
}

function skipScalingList(r, size) {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j += 1) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** A sequence parameter set (NAL unit, header byte included): the fields a slice header needs. */
export function parseSps(nal) {
  const r = new BitReader(unescape(nal));
  const sps = { profile: r.bits(8) };
  r.bits(16); // constraint flags, level
  sps.id = r.ue();
  sps.chromaFormat = 1;
  sps.separateColourPlanes = false;
  if (HIGH_PROFILES.has(sps.profile)) {
    sps.chromaFormat = r.ue();
    if (sps.chromaFormat === 3) sps.separateColourPlanes = r.bit() === 1;
    r.ue(); // bit depths
    r.ue();
    r.bit(); // qpprime_y_zero_transform_bypass_flag
    if (r.bit()) for (let i = 0; i < (sps.chromaFormat !== 3 ? 8 : 12); i += 1) if (r.bit()) skipScalingList(r, i < 6 ? 16 : 64);
  }
  sps.log2MaxFrameNum = r.ue() + 4;
  sps.pocType = r.ue();
  if (sps.pocType === 0) sps.log2MaxPocLsb = r.ue() + 4;
  else if (sps.pocType === 1) {
    sps.deltaPocAlwaysZero = r.bit() === 1;
    r.se();
    r.se();
    for (let i = r.ue(); i > 0; i -= 1) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.bit(); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  sps.frameMbsOnly = r.bit() === 1;
  sps.macroblocks = widthMbs * heightMapUnits * (sps.frameMbsOnly ? 1 : 2);
  return sps;
}

/** A picture parameter set (NAL unit, header byte included). */
export function parsePps(nal) {
  const r = new BitReader(unescape(nal));
  const pps = { id: r.ue(), spsId: r.ue(), cabac: r.bit() === 1, bottomFieldPocPresent: r.bit() === 1 };
  pps.sliceGroups = r.ue() + 1;
  if (pps.sliceGroups > 1) return pps; // not followed further: no skipped picture for it
  pps.refIdxL0 = r.ue() + 1;
  r.ue();
  pps.weightedPred = r.bit() === 1;
  r.bits(2);
  r.se();
  r.se();
  r.se();
  pps.deblockingControl = r.bit() === 1;
  r.bit();
  pps.redundantPicCnt = r.bit() === 1;
  return pps;
}

/** The first fields of a slice header (NAL unit, header byte included), given the parameter sets. */
export function parseSliceHeader(nal, spsById, ppsById) {
  const r = new BitReader(unescape(nal));
  const header = { refIdc: (nal[0] >> 5) & 3, idr: (nal[0] & 0x1f) === NAL_IDR };
  r.ue(); // first_mb_in_slice
  header.sliceType = r.ue() % 5;
  header.ppsId = r.ue();
  const pps = ppsById.get(header.ppsId);
  const sps = pps && spsById.get(pps.spsId);
  if (!sps) throw new H264Error(`slice refers to unknown parameter set ${header.ppsId}`);
  if (sps.separateColourPlanes) r.bits(2);
  header.frameNum = r.bits(sps.log2MaxFrameNum);
  header.field = !sps.frameMbsOnly && r.bit() === 1;
  if (header.idr) r.ue();
  if (sps.pocType === 0) header.pocLsb = r.bits(sps.log2MaxPocLsb);
  return header;
}

/** A skipped P picture (non-reference) after `last` (a slice header): a NAL unit, header byte included. */
export function skippedPicture(sps, pps, last, index = 1) {
  const w = new BitWriter();
  w.ue(0); // first_mb_in_slice
  w.ue(5); // slice_type: P, every slice of the picture
  w.ue(pps.id);
  if (sps.separateColourPlanes) w.bits(0, 2);
  // A non-reference picture's frame_num is the previous reference picture's + 1.
  w.bits(last.refIdc ? (last.frameNum + 1) % 2 ** sps.log2MaxFrameNum : last.frameNum, sps.log2MaxFrameNum);
  if (!sps.frameMbsOnly) w.bits(0, 1); // field_pic_flag
  if (sps.pocType === 0) {
    w.bits((last.pocLsb + 2 * index) % 2 ** sps.log2MaxPocLsb, sps.log2MaxPocLsb);
    if (pps.bottomFieldPocPresent) w.se(0);
  } else if (sps.pocType === 1 && !sps.deltaPocAlwaysZero) {
    w.se(0);
    if (pps.bottomFieldPocPresent) w.se(0);
  }
  if (pps.redundantPicCnt) w.ue(0);
  w.bits(0, 1); // num_ref_idx_active_override_flag
  w.bits(0, 1); // ref_pic_list_modification_flag_l0
  if (pps.weightedPred) {
    w.ue(0); // luma_log2_weight_denom
    if (sps.chromaFormat !== 0 && !sps.separateColourPlanes) w.ue(0);
    for (let i = 0; i < pps.refIdxL0; i += 1) w.bits(0, sps.chromaFormat !== 0 && !sps.separateColourPlanes ? 2 : 1);
  }
  w.se(0); // slice_qp_delta
  if (pps.deblockingControl) w.ue(1); // no deblocking: nothing to filter in a copy
  w.ue(sps.macroblocks); // mb_skip_run: every macroblock
  return w.nal(NAL_SLICE); // nal_ref_idc 0
}

/** Follows a stream's samples and makes skipped pictures of its last one (see the module comment). */
export class HoldPicture {
  /** avcC: the init segment's AVCDecoderConfigurationRecord. */
  constructor(avcC) {
    this.lengthSize = (avcC[4] & 3) + 1;
    this.sps = new Map();
    this.pps = new Map();
    this.last = null;
    let p = 6;
    for (let i = 0; i < (avcC[5] & 0x1f); i += 1, p += 2 + ((avcC[p] << 8) | avcC[p + 1])) {
      this.take(avcC.subarray(p + 2, p + 2 + ((avcC[p] << 8) | avcC[p + 1])));
    }
    const count = avcC[p];
    p += 1;
    for (let i = 0; i < count; i += 1, p += 2 + ((avcC[p] << 8) | avcC[p + 1])) {
      this.take(avcC.subarray(p + 2, p + 2 + ((avcC[p] << 8) | avcC[p + 1])));
    }
  }

  take(nal) {
    const type = nal[0] & 0x1f;
    if (type === NAL_SPS) { const sps = parseSps(nal); this.sps.set(sps.id, sps); }
    else if (type === NAL_PPS) { const pps = parsePps(nal); this.pps.set(pps.id, pps); }
    else if (type === NAL_SLICE || type === NAL_IDR) return nal;
    return null;
  }

  /** A picture of the stream, in decoding order (its bytes as in the MP4 sample). */
  push(sample) {
    let slice = null;
    for (const nal of nalUnits(sample, this.lengthSize)) slice = this.take(nal) || slice;
    if (slice) this.last = parseSliceHeader(slice, this.sps, this.pps);
  }

  /** A sample that repeats the last picture (the `index`-th in a row), or null when it cannot. */
  sample(index = 1) {
    const pps = this.last && this.pps.get(this.last.ppsId);
    const sps = pps && this.sps.get(pps.spsId);
    if (!sps || pps.cabac || pps.sliceGroups > 1 || this.last.field) return null;
    const nal = skippedPicture(sps, pps, this.last, index);
    const out = new Uint8Array(this.lengthSize + nal.length);
    for (let i = 0; i < this.lengthSize; i += 1) out[i] = (nal.length >> (8 * (this.lengthSize - 1 - i))) & 0xff;
    out.set(nal, this.lengthSize);
    return out;
  }
}
