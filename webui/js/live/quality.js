/**
 * The live view's stream quality (issue 16 item 7): what the camera sends on its link now — the
 * full picture, a reduced picture, or sound only — as the camera reports it (its state's
 * `stream_quality`, from firmware_stub/adaptation.py, listed with the camera users), with the
 * rate its link can carry. Polled while the live view is open.
 */

import { api } from '../api.js';
import { h } from '../dom.js';

const POLL_MS = 2000;
const LABELS = {
  full: 'Full picture',
  reduced: 'Reduced picture (weak link)',
  audio_only: 'Sound only (link too weak for the picture)',
};

export class QualityBadge {
  constructor({ orgId, serial }) {
    Object.assign(this, { orgId, serial });
    this.el = h('output', { class: 'stream-quality', 'aria-live': 'polite', 'data-quality': '' }, '');
  }

  start() {
    this.poll();
    this.timer = setInterval(() => this.poll(), POLL_MS);
    return this;
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
  }

  async poll() {
    try {
      const { camera_users: users } = await api(`/api/cloud/orgs/${this.orgId}/camera-users`);
      if (!this.stopped) this.show((users.find((u) => u.serial === this.serial) || {}).stream_quality || null);
    } catch {
      // The next poll tries again; the badge keeps the last quality known.
    }
  }

  show(quality) {
    if (!quality) {
      this.el.textContent = '';
      this.el.dataset.quality = '';
      return;
    }
    this.el.dataset.quality = quality.level;
    const link = quality.goodput_kbps === null ? '' : ` · link ${Math.round(quality.goodput_kbps)} kbit/s`;
    this.el.textContent = `Quality: ${LABELS[quality.level] || quality.level}${link}`;
    this.el.title = `The camera adapts what it sends to its link: now about ${quality.stream_kbps} kbit/s`;
  }
}
