/**
 * The system keys this browser holds (S5, S16): IndexedDB "bwlab-live", store "keys", by
 * fingerprint. The private key is a non-extractable CryptoKey (structured-cloned, never
 * exported); clearing the site's data deletes it and opening the bookmarked link with key
 * restores it.
 *
 * Where the browser refuses storage to the page — the client framed by a web VMS on another site
 * in a browser that blocks third-party site data — the keys are kept in this page's memory
 * instead (still non-extractable CryptoKeys): they work until the page is closed, and
 * `keysArePersistent()` says so, so the client can tell the operator.
 */

const DB = 'bwlab-live';
const STORE = 'keys';
let memory = null; // Map fingerprint → record, once IndexedDB has been refused

/** False once the browser refused IndexedDB: keys then last only as long as the page. */
export function keysArePersistent() {
  return memory === null;
}

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'fingerprint' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run(mode, fn, inMemory) {
  if (memory === null) {
    try {
      return await stored(mode, fn);
    } catch (err) {
      if (!refused(err)) throw err;
      memory = new Map();
    }
  }
  return inMemory(memory);
}

function refused(err) {
  // Chromium: "The user denied permission to access the database." (UnknownError); Firefox and
  // Safari: SecurityError / InvalidStateError in a context without storage access.
  return Boolean(err) && ['UnknownError', 'SecurityError', 'InvalidStateError'].includes(err.name);
}

async function stored(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req && req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** Keep a record from e2e.importLinkFragment (its CryptoKeys stay non-extractable). */
export function saveKey(record) {
  const { kind, name, fingerprint, spki, privateKey, publicKey } = record;
  const kept = { kind, name, fingerprint, spki, privateKey, publicKey, importedAt: Date.now() / 1000 };
  return run('readwrite', (s) => s.put(kept), (m) => { m.set(fingerprint, kept); });
}

export function listKeys() {
  return run('readonly', (s) => s.getAll(), (m) => [...m.values()]).then((keys) => keys || []);
}

export function removeKey(fingerprint) {
  return run('readwrite', (s) => s.delete(fingerprint), (m) => { m.delete(fingerprint); });
}
