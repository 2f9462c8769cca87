/**
 * The map on its own page, /map/ (SPEC D9): the session cookie of the Live client, and the system
 * key this browser holds (IndexedDB, S16) or a link with key opened here (/map/#k1=… or #p1=…).
 * Open help requests (issue 16) are urgent markers on it, as on Live's map (webui/js/help.js).
 *
 * The mounted map's handle (webui/js/map.js mountMap) is this module's `mounted` promise, for
 * the lab's browser tests and benchmark: `(await import('/js/map/page.js')).mounted`.
 */

import { LiveSocket, api } from '../api.js';
import { h } from '../dom.js';
import { importLinkFragment, linkKind } from '../e2e.js';
import { HelpBook, HelpLayer, mayAcknowledge } from '../help.js';
import { listKeys, saveKey } from '../keystore.js';
import { mountMap } from '../map.js';

const main = document.getElementById('main');
const message = document.getElementById('message');

function say(text, ...extra) {
  message.textContent = text;
  message.append(...extra);
}

function askPassphrase() {
  return new Promise((resolve) => {
    const input = h('input', { type: 'password', placeholder: 'Passphrase', required: true });
    const form = h('form', {}, input, h('button', { type: 'submit' }, 'Open'));
    form.addEventListener('submit', (e) => { e.preventDefault(); resolve(input.value); });
    say('This link with key is protected by a passphrase.', form);
    input.focus();
  });
}

async function keyFromFragment() {
  if (!/[#&](k1|p1)=/.test(location.hash)) return null;
  const passphrase = linkKind(location.hash) === 'passphrase' ? await askPassphrase() : undefined;
  const record = await importLinkFragment(location.hash, passphrase);
  await saveKey(record);
  history.replaceState(null, '', location.pathname); // the key does not stay in the address bar
  return record;
}

/** Mount the map; resolves to its handle, or null when it cannot (and the page says why). */
async function start() {
  let me;
  try {
    me = await api('/api/cloud/me');
  } catch (err) {
    say('Not signed in. ', h('a', { href: '/live/' }, 'Sign in in the Live client'));
    return null;
  }
  const orgId = me.org_id || (me.organizations[0] && me.organizations[0].id);
  if (!orgId) {
    say('This account belongs to no organization.');
    return null;
  }
  const org = me.organizations.find((o) => o.id === orgId);
  document.getElementById('org').textContent = org ? org.name : '';
  const fromLink = await keyFromFragment();
  const keys = fromLink ? [fromLink, ...(await listKeys())] : await listKeys();
  if (!keys.length) {
    say('This browser holds no end-to-end key. Open the link with key here or in the Live client.');
    return null;
  }
  const handle = await mountMap(main, { orgId, keyRecord: keys, api });
  main.addEventListener('bw-map-open-live', (event) => {
    const { userId } = event.detail;
    location.href = `/live/#user=${encodeURIComponent(userId)}`;
  });
  followHelpRequests(handle, orgId, keys, org ? org.role : null);
  return handle;
}

/**
 * Issue 16: each open help request as an urgent marker at its position (opened with the keys of
 * this browser), as on Live's map; it leaves when anyone acknowledges it (the events socket, and
 * the list read again after each reconnection).
 */
function followHelpRequests(handle, orgId, keys, role) {
  const layer = new HelpLayer({ acknowledge: mayAcknowledge(role) ? (help) => book.acknowledge(help) : null });
  const draw = () => layer.draw(book.entries.values());
  const book = new HelpBook({ orgId: () => orgId, keys: () => keys, onAdd: draw, onRemove: draw });
  layer.attach(handle, []);
  const sync = () => book.sync().catch((err) => console.warn('help requests:', err.message));
  handle.help = { book, layer, synced: null };
  handle.help.events = new LiveSocket(`/api/cloud/orgs/${encodeURIComponent(orgId)}/events`, {
    onOpen: () => { handle.help.synced = sync(); },
    onJson: (event) => book.handle(event),
  });
}

export const mounted = start().catch((err) => {
  say(`The map cannot start: ${err.message}`);
  return null;
});
