/**
 * The view with sound through a period in which the camera sends sound only (issue 16 item 7;
 * docs/decisions.md "Sound only in the view with sound").
 *
 * Media Source Extensions play only where every track has media: while the camera sends
 * audio-only fragments the video track gets none and the media element would stop. So the player
 * keeps the video track as long as the sound: once the sound runs more than SOUND_ONLY_LEAD
 * ahead of the picture, it appends, after each fragment, skipped pictures (h264.js: copies of
 * the last picture, non-reference) on the video's frame grid up to the end of the sound. The
 * sound plays on, the picture stays on its last frame, and the camera's picture, when it comes
 * back on the same timeline (an IDR), replaces whatever skipped pictures it overlaps. A gap left
 * between the last skipped picture and the picture's return is filled before the new fragment.
 * When the media element waits for the picture at its end while the sound is there (the picture
 * late, the sound lead not yet SOUND_ONLY_LEAD), the picture is held at once.
 */

import { writeFragment } from '../fmp4.js';
import { HoldPicture } from '../h264.js';

/**
 * Seconds the sound may run ahead of the picture before the picture is held. More than the sound
 * leads it when both come: a video fragment is at most 200 ms (MAX_FRAGMENT_SECONDS) and the
 * sound sent ahead of it (`--audio-chunk-frames`) leads its close by less.
 */
export const SOUND_ONLY_LEAD = 0.25;
const HELD_RANGES = 50; // held media ranges remembered (to tell held frames from the camera's)

export class SoundOnlyHold {
  /** tracks: the init segment's (fmp4.js parseInit). */
  constructor(tracks) {
    this.tracks = tracks;
    this.video = [...tracks.values()].find((t) => t.handler === 'vide');
    this.audio = [...tracks.values()].find((t) => t.handler === 'soun');
    this.picture = this.video && this.video.avcC ? new HoldPicture(this.video.avcC) : null;
    this.videoEnd = null; // decode time (video timescale) after the last picture, the camera's or held
    this.audioEnd = null; // seconds
    this.frameDuration = 0; // video timescale
    this.held = 0; // skipped pictures since the camera's last one
    this.sequence = 0;
    this.ranges = []; // [start, end) media seconds of held pictures
  }

  /** Whether the camera sends sound only (the view holds the picture). */
  get holding() {
    return this.held > 0;
  }

  /**
   * A fragment's runs (parseFragment) as it is appended: { before, after } — a fragment of held
   * pictures to append before it (a gap up to the picture's return), after it (the sound's lead),
   * or null.
   */
  follow(runs) {
    if (!this.picture || !this.audio) return { before: null, after: null };
    let before = null;
    const video = runs.find((r) => r.trackId === this.video.id);
    const audio = runs.find((r) => r.trackId === this.audio.id);
    if (video && video.samples.length) {
      if (this.holding && video.baseDecodeTime > this.videoEnd) before = this.fill(video.baseDecodeTime, true);
      const back = video.baseDecodeTime / this.video.timescale; // the camera's picture replaces held ones from here
      for (const range of this.ranges) range[1] = Math.min(range[1], Math.max(range[0], back));
      for (const sample of video.samples) this.picture.push(sample.data);
      const last = video.samples[video.samples.length - 1];
      this.videoEnd = last.decodeTime + last.duration;
      this.frameDuration = last.duration;
      this.held = 0;
    }
    if (audio && audio.samples.length) {
      const last = audio.samples[audio.samples.length - 1];
      this.audioEnd = (last.decodeTime + last.duration) / this.audio.timescale;
    }
    let after = null;
    if (this.videoEnd !== null && this.audioEnd !== null && this.frameDuration) {
      const lead = this.audioEnd - this.videoEnd / this.video.timescale;
      if (lead > (this.holding ? 0 : SOUND_ONLY_LEAD)) after = this.fill(Math.ceil(this.audioEnd * this.video.timescale));
    }
    return { before, after };
  }

  /**
   * The media element waits at `position` (seconds): when it waits for the picture while the sound
   * is there, hold the picture now (a fragment to append, or null).
   */
  stalled(position) {
    if (this.videoEnd === null || this.audioEnd === null || !this.frameDuration) return null;
    const end = this.videoEnd / this.video.timescale;
    const frame = this.frameDuration / this.video.timescale;
    if (position < end - frame || this.audioEnd - end <= frame) return null;
    return this.fill(Math.ceil(this.audioEnd * this.video.timescale));
  }

  /**
   * Held pictures from the video's end up to `until` (video timescale), on its frame grid (the
   * last one past `until`), or ending exactly at `until`.
   */
  fill(until, exact = false) {
    const count = Math.ceil((until - this.videoEnd) / this.frameDuration);
    const samples = [];
    for (let i = 1; i <= count; i += 1) {
      const data = this.picture.sample(this.held + i);
      if (!data) return null;
      const duration = exact && i === count ? until - this.videoEnd - (count - 1) * this.frameDuration : this.frameDuration;
      samples.push({ duration, data, sync: false });
    }
    if (!samples.length) return null;
    const start = this.videoEnd;
    this.videoEnd += samples.reduce((n, s) => n + s.duration, 0);
    this.held += count;
    this.sequence += 1;
    const scale = this.video.timescale;
    const range = this.ranges[this.ranges.length - 1];
    if (range && range[1] === start / scale) range[1] = this.videoEnd / scale;
    else this.ranges.push([start / scale, this.videoEnd / scale]);
    this.ranges.splice(0, Math.max(0, this.ranges.length - HELD_RANGES));
    return writeFragment(this.video.id, this.sequence, start, samples);
  }

  /** Whether the frame at `mediaTime` (seconds) is a held picture, not the camera's. */
  isHeld(mediaTime) {
    return this.ranges.some(([start, end]) => mediaTime >= start - 1e-6 && mediaTime < end - 1e-6);
  }
}
