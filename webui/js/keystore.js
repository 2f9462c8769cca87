/**
 * The system keys this browser holds (S5, S16): IndexedDB "bwlab-live", store "keys", by
 * fingerprint. The private key is a non-extractable CryptoKey (structured-cloned, never
 * exported); clearing the site's data deletes it and opening the bookmarked link with key
 * restores it.
 */

const DB = 'bwlab-live';
const STORE = 'keys';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'fingerprint' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run(mode, fn) {
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
  return run('readwrite', (s) => s.put({ kind, name, fingerprint, spki, privateKey, publicKey, importedAt: Date.now() / 1000 }));
}

export function listKeys() {
  return run('readonly', (s) => s.getAll()).then((keys) => keys || []);
}

export function removeKey(fingerprint) {
  return run('readwrite', (s) => s.delete(fingerprint));
}
