// The web client's shared constants against Python's (bwlab/wire/constants.py; SPEC S1, D7, D9, S4).
//
//   node tests/js/constants.test.mjs
//
// Imports every module listed in tests/vectors/constants.json and checks it exports each
// constant with the same value. Prints one line per constant; exits 1 if any differs.
// Run by tests/unit/test_constants_js.py.

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = new URL('../../', import.meta.url);
const vectors = JSON.parse(await readFile(fileURLToPath(new URL('tests/vectors/constants.json', root)), 'utf8'));

let failures = 0;
let passes = 0;
for (const [path, constants] of Object.entries(vectors.modules)) {
  const module = await import(new URL(path, root).href);
  for (const [name, expected] of Object.entries(constants)) {
    if (module[name] === expected) {
      passes += 1;
      console.log(`ok   ${path} ${name} = ${JSON.stringify(expected)}`);
    } else {
      failures += 1;
      console.log(`FAIL ${path} ${name}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(module[name])}`);
    }
  }
}
console.log(`${passes} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
