/**
 * The map of the Live client (SPEC D9, D6, L4): where the organization's camera users are, with
 * positions opened in this browser only (S4, S17).
 *
 * mountMap(element, {orgId, keyRecord, api, onOpenLive}) draws the map into `element` and
 * subscribes to the organization's positions feed (WS /api/cloud/orgs/{orgId}/positions). Each
 * feed container (a stream or a location track) carries its content key wrapped for the system
 * key; the browser unwraps it with `keyRecord` (a record from e2e.importLinkFragment or the key
 * store, or an array of them: the one whose fingerprint matches is used) and opens every sealed
 * position (kind 3) with WebCrypto.
 *
 * D9 exactly: only camera users with a position are shown (the list too); nearby users are
 * clustered with their count (Leaflet.markercluster); trails of the last TRAIL_SECONDS (toggle);
 * a camera whose GPS lost its fix shows the lost-GPS icon at its last position, with the date and time of
 * that position on hover; "centre" in the list centres the map on that user; "Live" switches that
 * user to live video (D6: the `bw-map-open-live` event, or the `onOpenLive` callback).
 * L4: with no tile server configured (the lab works offline) the basemap is the lab's site plan —
 * streets, buildings, access points with coverage, band and channel; roaming events (the access
 * point named in consecutive positions changes) are marked on the trails.
 */

import { parseChunk } from './chunk.js';
import { openChunk, unwrapContentKey } from './e2e.js';

export const TRAIL_SECONDS = 25; // D9: "the last 20 to 30 seconds"; bwlab/wire/constants.py MAP_TRAIL_SECONDS
export const CLOSE_GRACE_MS = 5000; // a camera switching from a track to a stream keeps its marker
const EARTH_RADIUS_M = 6371008.8;
const RECONNECT_MS = [1000, 2000, 5000, 10000];
// D9's lost-GPS icon: a location mark struck through
const LOST_GPS_SVG = '<svg class="bw-pin-lost" viewBox="0 0 20 20" width="18" height="18" aria-hidden="true">'
  + '<path d="M10 2a6 6 0 0 0-6 6c0 4.5 6 10 6 10s6-5.5 6-10a6 6 0 0 0-6-6z" fill="none" stroke="currentColor" stroke-width="1.8"/>'
  + '<line x1="3" y1="17" x2="17" y2="3" stroke="currentColor" stroke-width="2"/></svg>';

// ---------------------------------------------------------------- Leaflet, from the xstatic packages

let leafletLoading = null;

function addCss(href) {
  if (document.querySelector(`link[href="${href}"]`)) return;
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = href;
  document.head.append(link);
}

function addScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.append(script);
  });
}

/** Load Leaflet and Leaflet.markercluster (served from installed packages under /vendor). */
export function loadLeaflet(vendor = '/vendor') {
  if (window.L && window.L.markerClusterGroup) return Promise.resolve(window.L);
  if (!leafletLoading) {
    leafletLoading = (async () => {
      addCss(`${vendor}/leaflet/leaflet.css`);
      addCss(`${vendor}/leaflet-markercluster/MarkerCluster.css`);
      addCss(`${vendor}/leaflet-markercluster/MarkerCluster.Default.css`);
      addCss('/css/map.css');
      if (!window.L) await addScript(`${vendor}/leaflet/leaflet.js`);
      if (!window.L.markerClusterGroup) await addScript(`${vendor}/leaflet-markercluster/leaflet.markercluster.js`);
      return window.L;
    })();
  }
  return leafletLoading;
}

// ---------------------------------------------------------------- the model (no DOM)

/** Local metres (x east, y north of `origin` [lat, lon]) to [lat, lon], as the lab's radio grid. */
export function siteToLatLng(origin, x, y) {
  const [lat0, lon0] = origin;
  const lat = lat0 + ((y / EARTH_RADIUS_M) * 180) / Math.PI;
  const lon = lon0 + ((x / (EARTH_RADIUS_M * Math.cos((lat0 * Math.PI) / 180))) * 180) / Math.PI;
  return [lat, lon];
}

/** "HH:MM:SS" of a time in seconds since the epoch, in the browser's time zone. */
export function formatTime(t) {
  return new Date(t * 1000).toLocaleTimeString('en-GB', { hour12: false });
}

/** D9: the date and time of a last position, e.g. "2026-12-06 21:50:03" (local time). */
export function formatDateTime(t) {
  const d = new Date(t * 1000);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${formatTime(t)}`;
}

/**
 * Camera users' positions as the map knows them. `apply(info, seq, record)` takes one opened
 * record of container `info`; the trail keeps the fixes of the last `trailSeconds` before the
 * camera's newest record.
 */
export class PositionModel {
  constructor({ trailSeconds = TRAIL_SECONDS } = {}) {
    this.trailSeconds = trailSeconds;
    this.cameras = new Map();
  }

  apply(info, seq, record) {
    let cam = this.cameras.get(info.serial);
    if (!cam) {
      cam = { serial: info.serial, trail: [], roams: [], last: null, lastFix: null, closed: false, seen: new Set() };
      this.cameras.set(info.serial, cam);
    }
    const id = `${info.id}/${seq}`;
    if (cam.seen.has(id)) return cam; // a resend after a reconnect
    cam.seen.add(id);
    if (cam.seen.size > 512) cam.seen = new Set([...cam.seen].slice(-256));
    Object.assign(cam, { userId: info.user_id, userName: info.user_name, container: info.id,
      containerKind: info.kind, closed: false });
    if (record.fix) {
      if (!cam.lastFix || record.t >= cam.lastFix.t) cam.lastFix = record;
      const point = { t: record.t, lat: record.lat, lon: record.lon, ap: record.ap || null };
      let i = cam.trail.length;
      while (i > 0 && cam.trail[i - 1].t > point.t) i -= 1;
      const before = cam.trail[i - 1];
      cam.trail.splice(i, 0, point);
      if (before && before.ap && point.ap && before.ap !== point.ap) {
        cam.roams.push({ t: point.t, lat: point.lat, lon: point.lon, from: before.ap, to: point.ap });
      }
    }
    if (!cam.last || record.t >= cam.last.t) cam.last = record;
    this.prune(cam);
    return cam;
  }

  prune(cam) {
    if (!cam.last) return;
    const cutoff = cam.last.t - this.trailSeconds;
    while (cam.trail.length && cam.trail[0].t < cutoff) cam.trail.shift();
    while (cam.roams.length && cam.roams[0].t < cutoff) cam.roams.shift();
  }

  static lost(cam) {
    return Boolean(cam.last && !cam.last.fix);
  }

  /** D9: shown only with a position, and while its camera reports. */
  static visible(cam) {
    return Boolean(cam.last && !cam.closed && (cam.lastFix || cam.last.last_fix_t !== undefined));
  }

  static latLng(cam) {
    return PositionModel.lost(cam) ? [cam.last.lat, cam.last.lon] : [cam.lastFix.lat, cam.lastFix.lon];
  }

  static lastFixTime(cam) {
    return PositionModel.lost(cam) ? cam.last.last_fix_t : cam.lastFix.t;
  }
}

// ---------------------------------------------------------------- helpers

async function defaultApi(path) {
  const response = await fetch(path, { credentials: 'same-origin' });
  const data = await response.json();
  if (!response.ok) throw new Error((data && data.error && data.error.message) || `${response.status}`);
  return data;
}

function pickKey(keyRecord, wrapped) {
  const keys = Array.isArray(keyRecord) ? keyRecord : [keyRecord];
  return keys.find((k) => k && k.fingerprint === wrapped.key_fingerprint) || keys[0];
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

function initials(name) {
  return (name || '?').split(/\s+/).map((w) => w[0]).join('').slice(0, 2).toUpperCase();
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

export const SITE_LABEL_PANE = 'bwSiteLabels';
const AP_LABEL_SPACING_PX = 17; // labels of access points at one place, one under the other

/** The site plan's labels (streets, buildings, access points) go in a pane under the camera
 * pins (Leaflet's tooltip pane is above the markers): a label never hides a camera user. */
function siteLabelPane(map) {
  if (!map.getPane(SITE_LABEL_PANE)) {
    const pane = map.createPane(SITE_LABEL_PANE);
    pane.style.zIndex = '450'; // over the plan's shapes (overlay pane 400), under markers (600)
    pane.style.pointerEvents = 'none';
  }
  return SITE_LABEL_PANE;
}

function drawSitePlan(L, map, config) {
  const site = config.site;
  const layers = [];
  const pane = siteLabelPane(map);
  if (site) {
    for (const street of site.streets || []) {
      layers.push(L.polyline(street.points, { color: '#b9b4a6', weight: 14, opacity: 1, interactive: false, className: 'bw-street-casing' }));
      const line = L.polyline(street.points, { color: '#ffffff', weight: 10, opacity: 1, className: 'bw-street' });
      if (street.name) line.bindTooltip(street.name, { permanent: true, direction: 'center', className: 'bw-street-label', pane });
      layers.push(line);
    }
    for (const building of site.buildings || []) {
      const poly = L.polygon(building.points, { color: '#8c8478', weight: 1, fillColor: '#d8d2c4', fillOpacity: 1, className: 'bw-building' });
      if (building.name) poly.bindTooltip(building.name, { permanent: true, direction: 'center', className: 'bw-building-label', pane });
      layers.push(poly);
    }
  }
  const origin = site ? site.origin : null;
  // Access points at one place (a 2.4 GHz and a 5 GHz radio of one box): their labels one under the other.
  const place = (ap) => `${ap.position[0]},${ap.position[1]}`;
  const together = new Map();
  for (const ap of config.access_points || []) together.set(place(ap), [...(together.get(place(ap)) || []), ap]);
  for (const ap of config.access_points || []) {
    if (!origin) break;
    const at = siteToLatLng(origin, ap.position[0], ap.position[1]);
    const band = ap.band === '5' ? 'band-5' : 'band-24';
    const label = `${ap.name} · ${ap.band} GHz ch ${ap.channel}`;
    const group = together.get(place(ap));
    const offset = L.point(8, (group.indexOf(ap) - (group.length - 1) / 2) * AP_LABEL_SPACING_PX);
    if (ap.coverage) {
      // coverage: where the camera hears the AP at all (dashed), and where the signal is not weak (T3)
      layers.push(L.circle(at, { radius: ap.coverage.range_m, weight: 1, dashArray: '4 4', fillOpacity: 0.02, className: `bw-ap-range ${band}`, interactive: false }));
      layers.push(L.circle(at, { radius: ap.coverage.good_m, weight: 1, opacity: 0.6, fillOpacity: 0.04, className: `bw-ap-good ${band}`, interactive: false }));
    }
    layers.push(L.circleMarker(at, { radius: 5, weight: 2, fillOpacity: 1, className: `bw-ap ${band}` })
      .bindTooltip(label, { permanent: true, direction: 'right', offset, className: `bw-ap-label ${band}`, pane }));
  }
  return L.layerGroup(layers).addTo(map);
}

// ---------------------------------------------------------------- the view

/**
 * Mount the map. Returns a handle: {map, model, ready, center(serial), setTrails(on),
 * ingest(info, seq, record), trailSpans(), visibleSerials(), destroy()}.
 */
export async function mountMap(element, { orgId, keyRecord, api = defaultApi, onOpenLive = null, vendor = '/vendor' } = {}) {
  const L = await loadLeaflet(vendor);
  const config = await api(`/api/cloud/orgs/${encodeURIComponent(orgId)}/map`);
  const model = new PositionModel({ trailSeconds: config.trail_seconds || TRAIL_SECONDS });

  const trailsToggle = el('input', { type: 'checkbox', class: 'bw-map-trails-toggle' });
  const list = el('ul', { class: 'bw-map-users', 'aria-label': 'Camera users on the map' });
  const empty = el('p', { class: 'bw-map-empty' }, 'No camera user has a position yet.');
  const canvas = el('div', { class: 'bw-map-canvas' });
  const side = el('aside', { class: 'bw-map-side' },
    el('h2', {}, 'Camera users'),
    el('label', { class: 'bw-map-trails' }, trailsToggle, ` Trails (last ${model.trailSeconds} s)`),
    empty, list);
  element.classList.add('bw-map');
  element.replaceChildren(side, canvas);

  const map = L.map(canvas, { zoomControl: true, attributionControl: Boolean(config.tile_url), maxZoom: 21 });
  if (config.tile_url) {
    L.tileLayer(config.tile_url, { maxZoom: 21, maxNativeZoom: 19 }).addTo(map);
    element.classList.add('bw-map-tiles');
  }
  // Over a tile server's map only the access points are drawn; without one, the whole site plan.
  const site = config.site;
  drawSitePlan(L, map, config.tile_url && site ? { ...config, site: { ...site, streets: [], buildings: [] } } : config);
  const sitePoints = site ? [...(site.streets || []), ...(site.buildings || [])].flatMap((f) => f.points) : [];
  if (sitePoints.length) map.fitBounds(L.latLngBounds(sitePoints), { padding: [20, 20] });
  else if (site) map.setView(site.origin, 17);
  else map.setView([0, 0], 2);

  const clusters = L.markerClusterGroup({
    maxClusterRadius: 40,
    animate: false,
    showCoverageOnHover: false,
    spiderfyOnMaxZoom: true,
    disableClusteringAtZoom: 21,
    iconCreateFunction: (cluster) => L.divIcon({
      html: `<div><span class="bw-cluster-count">${cluster.getChildCount()}</span></div>`,
      className: 'marker-cluster marker-cluster-small bw-cluster',
      iconSize: L.point(40, 40),
    }),
  }).addTo(map);
  const trails = L.layerGroup();
  const markers = new Map(); // serial → {marker, trail, roams, item, lost}
  const keys = new Map(); // container id → Promise<CryptoKey>
  const containers = new Map();
  const closing = new Map();
  let destroyed = false;
  let socket = null;
  let attempt = 0;
  let chain = Promise.resolve();
  let resolveReady;
  const ready = new Promise((resolve) => { resolveReady = resolve; });

  trailsToggle.addEventListener('change', () => setTrails(trailsToggle.checked));

  function setTrails(on) {
    trailsToggle.checked = on;
    if (on) trails.addTo(map);
    else trails.remove();
    element.classList.toggle('bw-map-trails-on', on);
  }

  function icon(cam) {
    const lost = PositionModel.lost(cam);
    const title = lost
      ? `GPS lost — last position ${formatDateTime(cam.last.last_fix_t)}`
      : `${cam.userName} — ${formatTime(cam.lastFix.t)}`;
    const glyph = lost ? LOST_GPS_SVG : escapeHtml(initials(cam.userName));
    return L.divIcon({
      className: 'bw-pin-wrap',
      html: `<div class="bw-pin${lost ? ' lost' : ''}" data-serial="${escapeHtml(cam.serial)}" `
        + `data-last-fix="${PositionModel.lastFixTime(cam)}" title="${escapeHtml(title)}">${glyph}</div>`,
      iconSize: [30, 30],
      iconAnchor: [15, 15],
    });
  }

  function openLive(cam) {
    const detail = { serial: cam.serial, userId: cam.userId, userName: cam.userName,
      streamId: cam.containerKind === 'stream' ? cam.container : null };
    element.dispatchEvent(new CustomEvent('bw-map-open-live', { detail, bubbles: true }));
    if (onOpenLive) onOpenLive(detail);
  }

  function center(serial) {
    const entry = markers.get(serial);
    if (!entry) return false;
    map.setView(entry.marker.getLatLng(), Math.max(map.getZoom(), 19), { animate: false });
    if (!clusters.getVisibleParent(entry.marker) || clusters.getVisibleParent(entry.marker) !== entry.marker) {
      clusters.zoomToShowLayer(entry.marker); // still in a cluster (users side by side): zoom until it opens
    }
    return true;
  }

  function listItem(cam) {
    const status = el('span', { class: 'bw-map-user-status' });
    const item = el('li', { class: 'bw-map-user', 'data-serial': cam.serial },
      el('span', { class: 'bw-map-user-name' }, cam.userName || cam.serial), status,
      el('button', { type: 'button', class: 'bw-map-center', title: 'Centre the map on this camera user', onclick: () => center(cam.serial) }, 'Centre'),
      el('button', { type: 'button', class: 'bw-map-live', title: 'Live video of this camera user', onclick: () => openLive(cam) }, 'Live'));
    item.status = status;
    return item;
  }

  function render(cam) {
    let entry = markers.get(cam.serial);
    if (!PositionModel.visible(cam)) {
      if (entry) {
        clusters.removeLayer(entry.marker);
        trails.removeLayer(entry.trail);
        trails.removeLayer(entry.roams);
        entry.item.remove();
        markers.delete(cam.serial);
      }
      empty.hidden = markers.size > 0;
      return;
    }
    const at = PositionModel.latLng(cam);
    const lost = PositionModel.lost(cam);
    if (!entry) {
      const marker = L.marker(at, { icon: icon(cam), keyboard: false, title: '' });
      marker.on('click', () => openLive(cam));
      entry = { marker, trail: L.polyline([], { className: 'bw-trail', weight: 3 }), roams: L.layerGroup(), item: listItem(cam), lost, key: '' };
      markers.set(cam.serial, entry);
      trails.addLayer(entry.trail);
      trails.addLayer(entry.roams);
      clusters.addLayer(marker);
      const items = [...list.children];
      const next = items.find((li) => li.firstChild.textContent.localeCompare(cam.userName || '') > 0);
      list.insertBefore(entry.item, next || null);
    } else {
      const now = entry.marker.getLatLng();
      if (now.lat !== at[0] || now.lng !== at[1]) entry.marker.setLatLng(at);
    }
    const key = `${lost}:${PositionModel.lastFixTime(cam)}`;
    if (key !== entry.key) {
      entry.key = key;
      entry.marker.setIcon(icon(cam));
      entry.item.classList.toggle('lost', lost);
      entry.item.status.textContent = lost ? `GPS lost since ${formatDateTime(cam.last.last_fix_t)}` : '';
    }
    entry.trail.setLatLngs(cam.trail.map((p) => [p.lat, p.lon]));
    if (entry.roamCount !== cam.roams.length || (cam.roams[0] && entry.firstRoam !== cam.roams[0].t)) {
      entry.roamCount = cam.roams.length;
      entry.firstRoam = cam.roams[0] && cam.roams[0].t;
      entry.roams.clearLayers();
      for (const r of cam.roams) {
        entry.roams.addLayer(L.circleMarker([r.lat, r.lon], { radius: 6, className: 'bw-roam' })
          .bindTooltip(`Roamed ${escapeHtml(r.from)} → ${escapeHtml(r.to)} at ${formatTime(r.t)}`));
      }
    }
    empty.hidden = markers.size > 0;
  }

  /** Apply one opened record (also the benchmark's entry point). */
  function ingest(info, seq, record) {
    const cam = model.apply(info, seq, record);
    closing.delete(cam.serial);
    render(cam);
    return cam;
  }

  /** One position frame from the feed: open it, apply it. Returns {openMs, updateMs} (benchmark). */
  async function onFrame(buffer) {
    const started = performance.now();
    const chunk = parseChunk(buffer);
    if (chunk.kind !== 'position') return null;
    const info = containers.get(chunk.streamId);
    const key = keys.get(chunk.streamId);
    if (!info || !key) return null;
    let record;
    try {
      const plain = await openChunk(await key, chunk.streamId, 'position', chunk.seq, chunk.sealed);
      record = JSON.parse(new TextDecoder().decode(plain));
    } catch (err) {
      console.warn('position dropped:', err.message); // tampered or not ours: never shown
      return null;
    }
    const opened = performance.now();
    ingest(info, chunk.seq, record);
    return { openMs: opened - started, updateMs: performance.now() - opened };
  }

  function onJson(data) {
    if (data.type === 'container') {
      containers.set(data.id, data);
      if (!keys.has(data.id)) {
        const key = unwrapContentKey(pickKey(keyRecord, data.wrapped_key), data.id, data.wrapped_key);
        key.catch((err) => console.warn('container key not opened:', err.message));
        keys.set(data.id, key);
      }
    } else if (data.type === 'closed') {
      const cam = model.cameras.get(data.serial);
      if (!cam || cam.container !== data.id) return;
      const timer = setTimeout(() => {
        if (closing.get(data.serial) !== timer) return;
        closing.delete(data.serial);
        if (cam.container === data.id) {
          cam.closed = true;
          render(cam);
        }
      }, CLOSE_GRACE_MS);
      closing.set(data.serial, timer);
    } else if (data.type === 'live_edge') {
      resolveReady();
    }
  }

  function connect() {
    if (destroyed) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(`${proto}//${location.host}/api/cloud/orgs/${encodeURIComponent(orgId)}/positions`);
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => { attempt = 0; };
    socket.onmessage = (event) => {
      if (typeof event.data === 'string') {
        const data = JSON.parse(event.data);
        chain = chain.then(() => onJson(data));
      } else {
        const buffer = event.data;
        chain = chain.then(() => onFrame(buffer)).catch((err) => console.warn('position frame:', err.message));
      }
    };
    socket.onclose = () => {
      if (destroyed) return;
      const wait = RECONNECT_MS[Math.min(attempt, RECONNECT_MS.length - 1)];
      attempt += 1;
      setTimeout(connect, wait);
    };
  }
  connect();

  return {
    map,
    model,
    ready,
    center,
    setTrails,
    ingest,
    /** Feed messages without the socket, through the same path (bench/bench_map.py). */
    ingestJson: (data) => onJson(data),
    ingestFrame: (buffer) => onFrame(buffer),
    /** Seconds between the oldest and newest point of each visible trail (D9: ≤ 30). */
    trailSpans() {
      const out = {};
      for (const [serial] of markers) {
        const cam = model.cameras.get(serial);
        out[serial] = cam.trail.length ? cam.trail[cam.trail.length - 1].t - cam.trail[0].t : 0;
      }
      return out;
    },
    visibleSerials() {
      return [...markers.keys()].sort();
    },
    destroy() {
      destroyed = true;
      if (socket) socket.close();
      for (const timer of closing.values()) clearTimeout(timer);
      map.remove();
      element.replaceChildren();
    },
  };
}
