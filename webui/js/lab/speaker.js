/**
 * The camera's speaker in the Lab panel (issue 16 item 3): whether an operator's talk-back plays
 * now, whose voice, how loud (a level meter in dBFS), and the dominant frequency of the last
 * second the camera heard. The camera reports this to the lab only, never to the cloud.
 */

import { h } from '../dom.js';

const FLOOR_DB = -60;

export function speakerView(speaker) {
  if (!speaker || (!speaker.active && !speaker.talks)) return null;
  const level = Math.max(0, Math.min(1, (speaker.level_db - FLOOR_DB) / -FLOOR_DB));
  const who = speaker.active ? `Speaker: ${speaker.operator} is talking` : `Speaker: last heard ${speaker.last_operator}`;
  const facts = [`${speaker.heard_seconds} s heard`];
  if (speaker.heard_hz !== null && speaker.heard_hz !== undefined) facts.push(`${Math.round(speaker.heard_hz)} Hz`);
  if (speaker.latency_ms_p50 !== null && speaker.latency_ms_p50 !== undefined) facts.push(`mouth-to-ear ${Math.round(speaker.latency_ms_p50)} ms`);
  if (speaker.failed) facts.push(`${speaker.failed} packets refused`);
  return h('div', { class: 'speaker', dataset: { active: String(Boolean(speaker.active)), hz: String(speaker.heard_hz ?? '') } },
    h('span', {}, who),
    h('meter', { min: '0', max: '1', value: String(level), 'aria-label': `Speaker level ${speaker.level_db} dBFS` }),
    h('small', {}, ` ${facts.join(' · ')}`));
}
