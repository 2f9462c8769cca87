/**
 * Help requests of camera users (issue 16 item 2), shared by the Live client (webui/js/live/alerts.js)
 * and the map on its own page (webui/js/map/page.js).
 *
 * - `HelpBook`: the organization's open (not acknowledged) help requests, each with its position
 *   opened in this browser: the position is sealed for the system key like every position (S17),
 *   so only a browser holding that key reads it. It follows the events socket's `help_requested`
 *   and `help_acknowledged` and re-reads the list after a reconnection (`sync`), so a request
 *   acknowledged by anyone, anywhere, leaves it.
 * - `HelpLayer`: an urgent marker on a mounted map (webui/js/map.js) at each open request's
 *   position, labelled with the camera user's name and the time, and an Acknowledge button when
 *   the viewer's role may acknowledge (`mayAcknowledge`).
 */

import { api } from './api.js';
import { h, showError, time } from './dom.js';
import { b64urlDecode, openChunk, unwrapContentKey } from './e2e.js';

/** S14: `user` and `operator` acknowledge incoming streams, `admin` does everything they do. */
const ACKNOWLEDGING_ROLES = new Set(['user', 'operator', 'admin']);

/** Whether an account with `role` in the organization may acknowledge a help request (S14). */
export function mayAcknowledge(role) {
  return ACKNOWLEDGING_ROLES.has(role);
}

function pickKey(keys, wrapped) {
  return keys.find((k) => k && k.fingerprint === wrapped.key_fingerprint) || keys[0];
}

/** The help request's position, opened with the system key (null: none sent, or no key here). */
export async function openHelpPosition(help, keys) {
  if (!help.position || !help.wrapped_key || !keys.length) return null;
  const key = await unwrapContentKey(pickKey(keys, help.wrapped_key), help.id, help.wrapped_key);
  const plain = await openChunk(key, help.id, 'position', 0, b64urlDecode(help.position, 'position'));
  return JSON.parse(new TextDecoder().decode(plain));
}

/** Where the help request is, in words. */
export function whereText(entry) {
  if (entry.error) return `position not opened: ${entry.error}`;
  if (!entry.help.position) return 'no position (camera without GPS or without a fix)';
  if (!entry.position) return 'position sealed: no end-to-end key in this browser';
  const p = entry.position;
  return p.fix ? `at ${p.lat.toFixed(5)}, ${p.lon.toFixed(5)} (±${Math.round(p.accuracy)} m)`
    : `GPS lost; last at ${p.lat.toFixed(5)}, ${p.lon.toFixed(5)}`;
}

/**
 * The open help requests of one organization. `orgId()` and `keys()` give the organization and
 * the end-to-end keys of this browser when asked; `onAdd(entry, fresh)` runs once an entry's
 * position is opened (`fresh`: announced now, not found in the list), `onRemove(entry, help)` when
 * it is acknowledged (`help.acknowledged_by` says by whom, when known).
 */
export class HelpBook {
  constructor({ orgId, keys, onAdd = null, onRemove = null }) {
    Object.assign(this, { orgId, keys, onAdd, onRemove });
    this.entries = new Map(); // help id → {help, position, error}
  }

  clear() {
    this.entries.clear();
  }

  /** Every message of the events socket: the help ones change the book. */
  handle(event) {
    if (event.type === 'help_requested') return this.add(event.help, true);
    if (event.type === 'help_acknowledged') return this.remove(event.help);
    return null;
  }

  /** Read the list (the last 24 hours): add the open ones, drop those acknowledged meanwhile. */
  async sync() {
    const found = await api(`/api/cloud/orgs/${this.orgId()}/help-requests?state=all`);
    const adding = [];
    for (const help of found.help_requests.reverse()) {
      if (help.acknowledged_at) this.remove(help);
      else adding.push(this.add(help, false));
    }
    await Promise.all(adding);
  }

  async add(help, fresh) {
    if (this.entries.has(help.id) || help.acknowledged_at) return null;
    const entry = { help, position: null, error: null };
    this.entries.set(help.id, entry);
    try {
      entry.position = await openHelpPosition(help, this.keys());
    } catch (err) {
      entry.error = err.message;
    }
    if (this.entries.get(help.id) !== entry) return null; // acknowledged while its position was opened
    if (this.onAdd) this.onAdd(entry, fresh);
    return entry;
  }

  remove(help) {
    const entry = this.entries.get(help.id);
    if (!entry) return null;
    this.entries.delete(help.id);
    if (this.onRemove) this.onRemove(entry, help);
    return entry;
  }

  /** The operator has seen it (S14: any member): the camera vibrates with the help pattern. */
  async acknowledge(help) {
    const r = await api(`/api/cloud/orgs/${this.orgId()}/help-requests/${help.id}/acknowledge`, { method: 'POST' });
    this.remove({ ...help, acknowledged_by: r.by });
    return r;
  }
}

/**
 * The urgent markers of a HelpBook's entries on a mounted map. `acknowledge(help)` (a promise),
 * when given, puts an Acknowledge button in each marker's label.
 */
export class HelpLayer {
  constructor({ acknowledge = null } = {}) {
    this.acknowledge = acknowledge;
    this.map = null;
    this.markers = new Map(); // help id → Leaflet marker
  }

  attach(handle, entries) {
    this.map = handle;
    this.markers.clear();
    this.draw(entries);
  }

  detach() {
    this.map = null;
    this.markers.clear();
  }

  /** Show exactly the markers of `entries` (iterable of {help, position}) that have a position. */
  draw(entries) {
    const L = window.L;
    if (!this.map || !L) return;
    const open = new Map([...entries].filter((e) => e.position).map((e) => [e.help.id, e]));
    for (const [id, marker] of this.markers) {
      if (!open.has(id)) {
        marker.remove();
        this.markers.delete(id);
      }
    }
    for (const [id, entry] of open) {
      if (this.markers.has(id)) continue;
      const p = entry.position;
      const icon = L.divIcon({
        className: 'bw-help-wrap', iconSize: [44, 44], iconAnchor: [22, 22],
        html: h('div', { class: 'bw-help-pin', dataset: { help: id }, title: 'Help request' }, 'SOS'),
      });
      const marker = L.marker([p.lat, p.lon], { icon, zIndexOffset: 1000, keyboard: false })
        .bindTooltip(this.label(entry), { permanent: true, interactive: Boolean(this.acknowledge), direction: 'top',
          offset: [0, -22], className: 'bw-help-label' })
        .addTo(this.map.map);
      this.markers.set(id, marker);
    }
  }

  label(entry) {
    const { help } = entry;
    const out = h('span', { class: 'bw-help-out' });
    const ack = this.acknowledge && h('button', { type: 'button', class: 'bw-help-ack', onclick: async (event) => {
      event.stopPropagation();
      ack.disabled = true;
      try {
        await this.acknowledge(help);
      } catch (err) {
        showError(out, err);
        ack.disabled = false;
      }
    } }, 'Acknowledge');
    return h('span', { class: 'bw-help-text', dataset: { help: help.id } },
      h('strong', {}, `HELP: ${help.user_name}`), ` · ${time(help.requested_at)}`, ack ? ' ' : null, ack, out);
  }

  centerOn(help) {
    const marker = this.markers.get(help.id);
    if (marker && this.map) this.map.map.setView(marker.getLatLng(), Math.max(this.map.map.getZoom(), 19), { animate: false });
  }
}
