/**
 * Body Worn Live, the operators' web client (SPEC D2, D4, D6–D8, S1, S5, S6, S14–S16).
 *
 * Flow: the link with key's fragment is read and wiped from the address bar at once; a plain
 * key is imported, a protected one asks for its passphrase; the key stays non-extractable in
 * IndexedDB (keystore.js). Clearing the site's data deletes it, and the manual's remedy is to
 * bookmark the link with key (S16): the page that opened a link keeps it in memory (never on
 * disk) and offers "Bookmark this link", which puts the link with key back in the address bar
 * for Ctrl+D and shows it as a link to drag to the bookmarks bar, until "Hide the key again".
 * Then sign in (an account invited but not a member yet accepts its invitation, S10), pick the
 * organization, and use Streams (Active streams, live over the events WebSocket; camera users
 * with Start stream; groups), Recordings and Settings (for admins also Users: members, roles and
 * invitations, members.js). No pop-ups and only first-party cookies, so it runs in VMS
 * embedded browsers and iframes (S9).
 */

import { ApiError, LiveSocket, api, labClock } from '../api.js';
import { dateTime, duration, field, h, message, onSubmit, put, showError, time } from '../dom.js';
import { importLinkFragment, linkKind } from '../e2e.js';
import { keysArePersistent, listKeys, removeKey, saveKey } from '../keystore.js';
import { mountMap } from '../map.js';
import { Alerts, alertSettingsSection } from './alerts.js';
import { GroupStore, draggableUser, groupsSection } from './groups.js';
import { StreamPlayer } from './player.js';
import { QualityBadge } from './quality.js';
import { licenceSection } from './licence.js';
import { invitationsBlock, usersSection } from './members.js';
import { socSection } from './soc.js';
import { TalkButton } from './talk.js';
import { auditSection, watchers } from './audit.js';
import { healthBadge, healthSection } from './health.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const banner = document.getElementById('banner');

const app = {
  me: null, org: null, keys: [], pendingLink: null, view: null, players: [], events: null,
  live: [], users: [], refreshTimer: null, onChange: null, map: null,
  openedLink: null, // the link with key this page opened (memory only), for "Bookmark this link" (S16)
  notice: null, // the key notice, kept on the banner until another replaces it
  watching: {}, keyReports: [], // who is watching each live stream; keys imported before an organization was chosen (audit)
};

const REMOTE_REASONS = {
  camera_offline: 'Camera not connected (docked, out of network, or not provisioned).',
  no_camera: 'No camera assigned in AXIS Body Worn Manager.',
  streaming_disabled: 'Streaming is off in the camera profile (S7).',
  remote_activation_disabled: 'Remote stream activation is off in the camera profile (S7).',
  not_recording: 'Remote start in mode “While recording” needs the camera to be recording (S7).',
  already_streaming: 'Streaming now.',
};

// ---- link with key (S5, S16) ---------------------------------------------------------------

const IN_MEMORY = 'this browser does not let the client store data here (a web VMS on another site, with '
  + 'third-party site data blocked), so the key lasts until the page is closed. Open the link with key again next '
  + 'time, or open Body Worn Live on its own page.';

function takeLinkFromAddressBar() {
  const hash = location.hash;
  if (!/(^#|&)[kp]\d+=/.test(hash)) return;
  app.pendingLink = hash;
  app.openedLink = location.origin + location.pathname + location.search + hash;
  history.replaceState(history.state, '', location.pathname + location.search); // never leave the key in the URL
}

/** The full link with key of a pasted link (a whole URL, or only its fragment). */
function fullLink(text) {
  const value = text.trim();
  if (/^https?:\/\//.test(value)) return value;
  return `${location.origin}${location.pathname}#${value.replace(/^.*#/, '')}`;
}

/**
 * S16: "Bookmark this link" — the manual's remedy for a key lost with the site's data. The link
 * with key goes back into the address bar (for Ctrl+D / ⌘D) and is shown as a link that can be
 * dragged to the bookmarks bar or copied; "Hide the key again" wipes it from the address bar.
 */
function bookmarkControl(link, name) {
  const box = h('div', { class: 'bookmark' });
  const hide = () => {
    history.replaceState(history.state, '', location.pathname + location.search);
    put(box, offer);
  };
  const offer = h('button', { type: 'button', class: 'small', onclick: () => {
    history.replaceState(history.state, '', link);
    put(box, h('span', { dataset: { code: 'bookmark_ready' } },
      'The link with key is in the address bar: press Ctrl+D (⌘D on a Mac) to bookmark it, or drag this link to your bookmarks bar: ',
      h('a', { href: link, class: 'bookmark-link', draggable: 'true', title: 'AXIS Body Worn Live with the key — drag me to the bookmarks bar' },
        `AXIS Body Worn Live${name ? ` (${name})` : ''}`),
      '. Keep the bookmark private: it holds the key. ',
      h('button', { type: 'button', class: 'small', onclick: hide }, 'Hide the key again')));
  } }, 'Bookmark this link');
  put(box, offer);
  return box;
}

function linkName(link) {
  const piece = link.replace(/^.*#/, '').split('&').find((p) => p.startsWith('name='));
  try {
    return piece ? decodeURIComponent(piece.slice(5)) : null;
  } catch {
    return null;
  }
}

async function keep(record, link = app.openedLink) {
  await saveKey(record);
  app.keys = await listKeys();
  reportKey(record);
  const name = record.name || 'unnamed';
  const kept = keysArePersistent()
    ? message('ok', `Key “${name}” saved in this browser. Fingerprint ${record.fingerprint}. Clearing the browser's cookies and site data deletes it: bookmark the link with key to get it back (S16).`, 'key_saved')
    : message('info', `Key “${name}” kept for this page only (fingerprint ${record.fingerprint}): ${IN_MEMORY}`, 'key_in_memory');
  renderBanner(link ? h('div', { class: 'key-notice' }, kept, bookmarkControl(link, record.name)) : kept, true);
}

function passphraseView(link) {
  const out = h('div', { class: 'out' });
  const name = linkName(link);
  const form = h('form', { 'aria-label': 'Open the link with key' },
    field('Passphrase', h('input', { type: 'password', name: 'passphrase', required: true, autocomplete: 'off', autofocus: true })),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Open'),
      h('button', { type: 'button', onclick: () => { app.pendingLink = null; startSession(); } }, 'Not now')));
  onSubmit(form, out, async ({ passphrase }) => {
    try {
      await keep(await importLinkFragment(link, passphrase));
    } catch (err) {
      if (err.code === 'link_wrong_passphrase') {
        throw Object.assign(new Error('Wrong passphrase: the link with key did not open. Check the passphrase with your administrator and try again.'), { code: err.code });
      }
      throw err;
    }
    app.pendingLink = null;
    await startSession();
  });
  show('key', h('section', { class: 'card narrow', 'aria-labelledby': 'h-key' },
    h('h2', { id: 'h-key' }, 'Open the link with key'),
    h('p', {}, `The link with key${name ? ` “${name}”` : ''} is protected by a passphrase. Type the passphrase your administrator gave you.`),
    form, out));
}

async function openPendingLink() {
  const link = app.pendingLink;
  let kind;
  try {
    kind = linkKind(link);
  } catch (err) {
    app.pendingLink = null;
    renderBanner(message('error', `The link with key cannot be read: ${err.message}`, err.code));
    return true;
  }
  if (kind === 'passphrase') {
    passphraseView(link);
    return false;
  }
  try {
    await keep(await importLinkFragment(link));
  } catch (err) {
    renderBanner(message('error', `The link with key cannot be opened: ${err.message}`, err.code));
  }
  app.pendingLink = null;
  return true;
}

/** The audit trail records the keys imported (issue 16): the key itself never leaves the browser. */
function reportKey(record) {
  if (record) app.keyReports.push({ fingerprint: record.fingerprint, name: record.name || undefined, kind: record.kind === 'passphrase' ? 'passphrase' : 'plain' });
  if (!app.org) return;
  for (const body of app.keyReports.splice(0)) api(`/api/cloud/orgs/${app.org.id}/audit/key-imports`, { method: 'POST', body }).catch(() => {});
}

/** The banner: the key notice (kept until replaced, ``sticky``), a passing ``extra``, a missing key. */
function renderBanner(extra, sticky = false) {
  if (sticky) app.notice = extra;
  const parts = [];
  if (app.notice) parts.push(app.notice);
  if (extra && !sticky) parts.push(extra);
  if (!app.keys.length && !app.pendingLink) {
    parts.push(message('error', 'No end-to-end key in this browser: streams cannot be opened. Open the link with key that your '
      + 'administrator copied from the Manager (Add-on services > AXIS Body Worn Live > Open AXIS Body Worn Live), '
      + 'or paste it under Settings.', 'key_missing'));
  }
  put(banner, parts);
}

// ---- session and organization (D2, S14) ------------------------------------------------------

async function startSession() {
  renderBanner();
  let me;
  try {
    me = await api('/api/cloud/me');
  } catch (err) {
    if (err.status === 401) return signInView();
    return show('error', message('error', err.message, err.code));
  }
  app.me = me;
  if (!me.organizations.length) {
    renderWho();
    return show('no-org', h('section', { class: 'card narrow' }, h('h2', {}, 'No organization'),
      message('error', `The account ${me.email} is not a member of any organization, so it may not view streams. `
        + 'Ask an admin of your organization to invite you and give you a role (S10, S14).', 'not_member'),
      invitationsBlock(() => startSession())));
  }
  const current = me.organizations.find((o) => o.id === me.org_id);
  if (current) return useOrg(current, false);
  if (me.organizations.length === 1) return useOrg(me.organizations[0], true);
  return orgView(me.organizations);
}

function signInView() {
  const out = h('div', { class: 'out' });
  const form = h('form', { 'aria-label': 'Sign in' },
    field('E-mail', h('input', { type: 'email', name: 'email', required: true, autocomplete: 'username' })),
    field('Password', h('input', { type: 'password', name: 'password', required: true, autocomplete: 'current-password' })),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  onSubmit(form, out, async (v) => {
    await api('/api/cloud/sessions', { method: 'POST', body: { email: v.email, password: v.password } });
    await startSession();
  });
  nav.hidden = true;
  put(who);
  show('sign-in', h('section', { class: 'card narrow', 'aria-labelledby': 'h-sign-in' },
    h('h2', { id: 'h-sign-in' }, 'Sign in'), h('p', {}, 'Sign in with your My Axis account.'), form, out));
}

function orgView(orgs) {
  const out = h('div', { class: 'out' });
  show('organizations', h('section', { class: 'card narrow', 'aria-labelledby': 'h-orgs' },
    h('h2', { id: 'h-orgs' }, 'Select the organization'),
    h('ul', { class: 'list' }, orgs.map((o) => h('li', {}, h('button', {
      type: 'button', class: 'item', onclick: () => useOrg(o, true).catch((err) => showError(out, err)),
    }, h('strong', {}, o.name), h('small', {}, ` ${o.role}`))))), out));
}

async function useOrg(org, choose) {
  if (choose) await api('/api/cloud/sessions/current', { method: 'PUT', body: { org_id: org.id } });
  app.org = org;
  app.groups = new GroupStore(org.id);
  reportKey(null);
  renderWho();
  nav.hidden = false;
  if (app.events) app.events.close();
  app.alerts = app.alerts || new Alerts({ // issue 16: new-stream banners, help requests (alerts.js)
    get org() { return app.org; }, get keys() { return app.keys; }, get live() { return app.live; },
    openStream: (s) => liveView(s), showOnMap: (help) => mapView(null, help),
  });
  await app.alerts.start();
  app.events = new LiveSocket(`/api/cloud/orgs/${org.id}/events`, {
    onOpen: () => { refresh(); app.alerts.sync(); }, // a help request acknowledged while the socket was down leaves
    onJson: (event) => { app.alerts.handle(event); if (String(event.type).startsWith('stream_')) refresh(); },
  });
  clearInterval(app.refreshTimer);
  app.refreshTimer = setInterval(() => refresh(), 5000);
  streamsView();
}

function renderWho() {
  const me = app.me;
  put(who, me ? [h('span', {}, me.name),
    app.org ? h('span', { class: 'org' }, `${app.org.name} · ${app.org.role}`) : null,
    app.me.organizations.length > 1 ? h('button', { type: 'button', class: 'small', onclick: () => orgView(app.me.organizations) }, 'Switch') : null,
    h('button', { type: 'button', class: 'small', onclick: signOut }, 'Sign out')] : []);
}

async function signOut() {
  if (app.events) app.events.close();
  if (app.alerts) app.alerts.clear();
  clearInterval(app.refreshTimer);
  stopPlayers();
  await api('/api/cloud/sessions/current', { method: 'DELETE' }).catch(() => {});
  app.me = null;
  app.org = null;
  signInView();
}

// ---- views ----------------------------------------------------------------------------------

function stopPlayers() {
  for (const p of app.players) p.stop();
  app.players = [];
}

function show(view, ...content) {
  stopPlayers();
  if (app.map) {
    app.alerts.detachMap();
    app.map.destroy();
    app.map = null;
  }
  app.view = view;
  app.onChange = null;
  document.body.dataset.view = view;
  for (const b of nav.querySelectorAll('button')) b.setAttribute('aria-current', String(b.dataset.view === view));
  put(main, content);
}

async function refresh() {
  if (!app.org) return;
  try {
    const [live, users, watching] = await Promise.all([
      api(`/api/cloud/orgs/${app.org.id}/streams?state=live`),
      api(`/api/cloud/orgs/${app.org.id}/camera-users`),
      api(`/api/cloud/orgs/${app.org.id}/watching`),
    ]);
    app.live = live.streams;
    app.users = users.camera_users;
    app.watching = watching.watching;
    if (app.onChange) app.onChange();
  } catch (err) {
    if (app.onChange) renderBanner(message('error', err.message, err.code));
  }
}

function streamsView() {
  const active = h('ul', { class: 'list', id: 'active-streams', 'aria-live': 'polite' });
  const help = h('div', { class: 'help-box' }); // issue 16: open help requests, urgent, first
  const users = h('ul', { class: 'list', id: 'camera-users' });
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  const groups = groupsSection(app.groups, app.users, (g) => groupView(g));
  const health = healthSection(); // issue 16 item 5
  let groupsFor = null;
  let shown = null;
  show('streams', h('div', { class: 'columns' },
    h('section', { class: 'card', 'aria-labelledby': 'h-active' }, h('h2', { id: 'h-active' }, 'Active streams'), help, active),
    h('section', { class: 'card', 'aria-labelledby': 'h-users' }, h('h2', { id: 'h-users' }, 'Camera users'),
      h('p', { class: 'hint' }, 'Drag a camera user onto a group to add them.'), users, out),
    groups), health);
  const render = () => {
    // Rebuild only what changed: an item being dragged or clicked stays in the page. The health
    // reports change every few seconds: their panel is redrawn apart, the lists only for a warning.
    health.update(app.users);
    const seen = JSON.stringify([app.live, app.users.map((u) => ({ ...u, health: (u.health?.warnings || []).map((w) => w.code) })), app.watching]);
    if (seen === shown) return;
    shown = seen;
    put(active, app.live.length ? app.live.map((s) => h('li', {}, h('button', {
      type: 'button', class: 'item stream', dataset: { stream: s.id, user: s.user_id }, onclick: () => liveView(s),
    }, h('strong', {}, s.user_name), h('small', {}, ` since ${time(s.started_at)}`),
      s.acknowledged_by ? h('small', { class: 'ack' }, ` · acknowledged by ${s.acknowledged_by}`) : null,
      watchers(app.watching, s.id, app.me.id)))) : h('li', { class: 'empty' }, 'No active streams.'));
    put(users, app.users.map((u) => {
      const stream = app.live.find((s) => s.user_id === u.id);
      const li = h('li', { class: 'user', dataset: { user: u.id } },
        h('div', { class: 'row' }, h('strong', {}, u.name), h('small', {}, ` ${u.model || ''} · ${u.online ? (u.streaming === 'live' ? 'streaming' : u.recording ? 'recording' : 'online') : 'offline'}`), healthBadge(u)),
        stream ? h('button', { type: 'button', class: 'small', onclick: () => liveView(stream) }, 'Open live view')
          : u.remote_start ? h('button', { type: 'button', class: 'small primary', onclick: (e) => remoteStart(u, e.target, out) }, 'Start stream')
            : h('small', { class: 'reason', dataset: { reason: u.remote_start_reason } }, REMOTE_REASONS[u.remote_start_reason] || u.remote_start_reason));
      draggableUser(li, u.id);
      return li;
    }));
    const key = app.users.map((u) => `${u.id}:${u.name}`).join();
    if (groupsFor !== key) {
      groupsFor = key;
      groups.setUsers(app.users);
    }
  };
  app.onChange = render;
  app.alerts.onHelpChange = () => put(help, app.alerts.helpList());
  app.alerts.onHelpChange();
  render();
  refresh();
}

async function remoteStart(user, button, out) {
  button.disabled = true;
  put(out, message('info', `Starting a stream for ${user.name}…`));
  try {
    await api(`/api/cloud/orgs/${app.org.id}/camera-users/${user.id}/start`, { method: 'POST' });
    put(out, message('ok', `${user.name}'s camera started streaming.`));
    refresh();
  } catch (err) {
    showError(out, err);
    button.disabled = false;
  }
}

function liveView(stream, mode = 'mse') {
  const ackOut = h('span', { class: 'ack-status', 'aria-live': 'polite' });
  const watching = h('span', { class: 'watching-now', 'aria-live': 'polite' });
  const player = new StreamPlayer({ orgId: app.org.id, streamId: stream.id, title: stream.user_name, mode });
  const quality = new QualityBadge({ orgId: app.org.id, serial: stream.serial });
  const talk = new TalkButton({ orgId: app.org.id, stream }); // talk-back (issue 16 item 3)
  const modeButton = (m, label) => h('button', { type: 'button', 'aria-pressed': String(m === mode), onclick: () => liveView(stream, m) }, label);
  const ack = h('button', { type: 'button', class: 'primary', onclick: async () => {
    ack.disabled = true;
    try {
      const r = await api(`/api/cloud/orgs/${app.org.id}/streams/${stream.id}/acknowledge`, { method: 'POST' });
      put(ackOut, message('ok', r.camera_notified ? `Acknowledged by ${r.by}: the camera vibrates.`
        : `Acknowledged by ${r.by}: the camera is not connected now; it vibrates when it is back.`, 'acknowledged'));
    } catch (err) {
      showError(ackOut, err);
    } finally {
      ack.disabled = false;
    }
  } }, 'Acknowledge');
  ack.title = 'Let the camera user know you opened the stream: the camera vibrates';
  show('live', h('section', { class: 'live-view', 'aria-labelledby': 'h-live' },
    h('div', { class: 'row toolbar' },
      h('button', { type: 'button', onclick: () => streamsView() }, '← Streams'),
      h('h2', { id: 'h-live' }, stream.user_name),
      h('div', { role: 'group', 'aria-label': 'View' }, modeButton('mse', 'With sound'), modeButton('webcodecs', 'Low latency'),
        h('button', { type: 'button', class: 'to-map', onclick: () => mapView(stream.serial) }, 'Map')),
      ack, ackOut, quality.el, talk.el, watching),
    player.el));
  app.players.push(player.start(), quality.start(), talk.start());
  app.onChange = () => put(watching, watchers(app.watching, stream.id, app.me.id));
  setTimeout(() => refresh(), 1000); // the view is open by now: show this viewer among who is watching
}

// D9, D6: the map of camera positions; each user toggles between map and live video.
async function mapView(centerSerial = null, help = null) {
  const box = h('div', { class: 'bw-map', id: 'map' });
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  show('map', h('section', { class: 'card map-view', 'aria-labelledby': 'h-map' },
    h('div', { class: 'row toolbar' }, h('button', { type: 'button', onclick: () => streamsView() }, '← Streams'),
      h('h2', { id: 'h-map' }, 'Map')), out, box));
  if (!app.keys.length) {
    put(out, message('error', 'No end-to-end key in this browser: positions cannot be decrypted.', 'missing_key'));
    return;
  }
  try {
    const handle = await mountMap(box, {
      orgId: app.org.id, keyRecord: app.keys, api,
      onOpenLive: ({ streamId }) => {
        const stream = app.live.find((s) => s.id === streamId);
        if (stream) liveView(stream);
        else put(out, message('info', 'That camera user is not streaming now.'));
      },
    });
    if (app.view !== 'map') {
      handle.destroy();
      return;
    }
    app.map = handle;
    app.alerts.attachMap(handle);
    if (centerSerial) handle.center(centerSerial);
    if (help) app.alerts.centerOn(help);
  } catch (err) {
    showError(out, err);
  }
}

function groupView(group) {
  const grid = h('div', { class: `grid grid-${Math.max(1, group.members.length)}` });
  const tiles = new Map();
  const render = () => {
    for (const id of group.members) {
      const user = app.users.find((u) => u.id === id) || { id, name: id };
      const stream = app.live.find((s) => s.user_id === id);
      const tile = tiles.get(id);
      if (tile && tile.streamId === (stream && stream.id)) continue;
      if (tile && tile.player) {
        tile.player.stop();
        app.players = app.players.filter((p) => p !== tile.player);
      }
      let body;
      let player = null;
      if (stream) {
        player = new StreamPlayer({ orgId: app.org.id, streamId: stream.id, title: user.name, muted: true });
        app.players.push(player.start());
        body = player.el;
      } else {
        body = h('div', { class: 'no-image' }, 'Not streaming');
      }
      const el = h('div', { class: 'tile' }, h('h3', {}, user.name), body);
      if (tile) tile.el.replaceWith(el);
      else grid.append(el);
      tiles.set(id, { el, player, streamId: stream && stream.id });
    }
  };
  show('group', h('section', { 'aria-labelledby': 'h-group' },
    h('div', { class: 'row toolbar' }, h('button', { type: 'button', onclick: () => streamsView() }, '← Streams'),
      h('h2', { id: 'h-group' }, group.name)), grid));
  app.onChange = render;
  render();
}

async function recordingsView(userId = null) {
  show('recordings', h('p', { class: 'msg msg-info', role: 'status' }, 'Loading recordings…'));
  let streams;
  try {
    streams = (await api(`/api/cloud/orgs/${app.org.id}/streams?state=recorded`)).streams;
  } catch (err) {
    return show('recordings', message('error', err.message, err.code));
  }
  const byUser = new Map();
  for (const s of streams) {
    if (!byUser.has(s.user_id)) byUser.set(s.user_id, { name: s.user_name, streams: [] });
    byUser.get(s.user_id).streams.push(s);
  }
  const playerBox = h('div', { class: 'recording-player' });
  const selected = userId && byUser.get(userId);
  show('recordings', h('div', { class: 'columns' },
    h('section', { class: 'card', 'aria-labelledby': 'h-rec' }, h('h2', { id: 'h-rec' }, 'Recordings'),
      h('p', { class: 'hint' }, 'Every stream is kept for 24 hours.'),
      byUser.size ? h('ul', { class: 'list' }, [...byUser].map(([id, u]) => h('li', {}, h('button', {
        type: 'button', class: 'item', 'aria-pressed': String(id === userId), onclick: () => recordingsView(id),
      }, h('strong', {}, u.name), h('small', {}, ` ${u.streams.length} stream${u.streams.length === 1 ? '' : 's'}`)))))
        : h('p', { class: 'empty' }, 'No recordings in the last 24 hours.')),
    selected ? h('section', { class: 'card', 'aria-labelledby': 'h-rec-user' }, h('h2', { id: 'h-rec-user' }, selected.name),
      h('ul', { class: 'list' }, selected.streams.map((s) => h('li', {}, h('button', {
        type: 'button', class: 'item recording', dataset: { stream: s.id }, onclick: () => playRecording(s, playerBox),
      }, h('strong', {}, dateTime(s.started_at)), h('small', {}, ` ${duration(s.duration)} · ${s.reason}`))))), playerBox) : null));
}

function playRecording(stream, box) {
  stopPlayers();
  const player = new StreamPlayer({ orgId: app.org.id, streamId: stream.id, title: stream.user_name, recording: true });
  put(box, player.el);
  app.players.push(player.start());
}

async function settingsView() {
  app.keys = await listKeys();
  const keysBox = h('div');
  const renderKeys = () => put(keysBox, app.keys.length ? h('table', {},
    h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Fingerprint'), h('th', {}, 'Link'), h('th', {}, 'Saved'), h('th', {}, ''))),
    h('tbody', {}, app.keys.map((k) => h('tr', {},
      h('td', {}, k.name || '—'), h('td', { class: 'mono fingerprint' }, k.fingerprint),
      h('td', {}, k.kind === 'passphrase' ? 'password-protected' : 'plain'), h('td', {}, dateTime(k.importedAt)),
      h('td', {}, h('button', { type: 'button', class: 'small', 'aria-label': `Remove key ${k.name || k.fingerprint} from this browser`,
        onclick: async () => { await removeKey(k.fingerprint); app.keys = await listKeys(); renderKeys(); app.notice = null; renderBanner(); } }, 'Remove')))))) :
    message('error', 'No key in this browser.', 'key_missing'));
  renderKeys();
  const importOut = h('div', { class: 'out' });
  const importForm = h('form', { 'aria-label': 'Open a link with key' },
    field('Link with key', h('input', { name: 'link', required: true, autocomplete: 'off' })),
    field('Passphrase (for a password-protected link)', h('input', { type: 'password', name: 'passphrase', autocomplete: 'off' })),
    h('button', { type: 'submit' }, 'Open link'));
  onSubmit(importForm, importOut, async (v) => {
    await keep(await importLinkFragment(v.link, v.passphrase || undefined), fullLink(v.link));
    importForm.reset();
    renderKeys();
  });
  show('settings',
    h('section', { class: 'card', 'aria-labelledby': 'h-e2e' }, h('h2', { id: 'h-e2e' }, 'End-to-end encryption'),
      h('p', { class: 'hint' }, 'The fingerprint here must be identical to the one in the Manager’s key list, for every system you watch (S6).'),
      keysArePersistent() ? null : message('info', `Keys are kept for this page only: ${IN_MEMORY}`, 'keys_in_memory'),
      keysBox, importForm, importOut),
    h('section', { class: 'card', 'aria-labelledby': 'h-licence' }, h('h2', { id: 'h-licence' }, 'Licence'),
      licenceSection(app.org.id, app.org.role === 'admin')),
    alertSettingsSection(),
    app.org.role === 'admin' ? usersSection(app.org, app.me) : null,
    app.org.role === 'admin' ? socSection(app.org.id) : null,
    app.org.role === 'admin' ? auditSection(app.org.id) : null,
    h('section', { class: 'card', 'aria-labelledby': 'h-account' }, h('h2', { id: 'h-account' }, 'Account'),
      h('dl', {}, h('dt', {}, 'Name'), h('dd', {}, app.me.name), h('dt', {}, 'E-mail'), h('dd', {}, app.me.email),
        h('dt', {}, 'Organization'), h('dd', {}, app.org.name), h('dt', {}, 'Role'), h('dd', {}, app.org.role)),
      invitationsBlock(() => startSession())));
}

nav.addEventListener('click', (event) => {
  const view = event.target.dataset && event.target.dataset.view;
  if (!app.org) return; // the views need a signed-in account in an organization
  if (view === 'streams') streamsView();
  else if (view === 'recordings') recordingsView();
  else if (view === 'map') mapView();
  else if (view === 'settings') settingsView();
});

// A link with key pasted into the address bar while the client is open changes only the hash.
window.addEventListener('hashchange', async () => {
  takeLinkFromAddressBar();
  if (app.pendingLink && (await openPendingLink())) await startSession();
});

async function boot() {
  takeLinkFromAddressBar();
  app.keys = await listKeys().catch(() => []);
  labClock.sync().catch(() => {});
  setInterval(() => labClock.sync().catch(() => {}), 15000);
  if (app.pendingLink && !(await openPendingLink())) return;
  await startSession();
}

boot().catch((err) => put(main, message('error', err instanceof ApiError ? err.message : `The web client failed to start: ${err.message}`)));
