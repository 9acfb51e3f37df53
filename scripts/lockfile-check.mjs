#!/usr/bin/env node
// scripts/lockfile-check.mjs: practice 2 (a lockfile that pins what is installed). Checks that every
// package in package-lock.json carries a sha512 integrity hash, and that any download address is https.
//
// Why beside lockfile-lint: the build machines' npm config sets omit-lockfile-registry-resolved, so
// the lockfile has no `resolved` addresses, and lockfile-lint then passes an entry with no integrity
// at all (it checks the hash type only where a hash is present). `npm ci` installs whatever an
// entry without integrity points at, unverified; this check refuses that.
// Usage: node scripts/lockfile-check.mjs [path/to/package-lock.json]

import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * @typedef {{ entry: string, problem: string }} LockfileProblem
 * @typedef {{ entries: number, resolved: number, problems: LockfileProblem[] }} LockfileReport
 */

const SHA512_BYTES = 64;

/** The package name an entry installs: its own `name` (an alias) or the path after the last node_modules/. */
export function packageNameOf(key, entry) {
  if (typeof entry.name === 'string' && entry.name !== '') return entry.name;
  const at = key.lastIndexOf('node_modules/');
  return at === -1 ? key : key.slice(at + 'node_modules/'.length);
}

/** Problems with one `integrity` value: it must be present, and every hash in it a well-formed sha512. */
export function integrityProblems(integrity) {
  if (typeof integrity !== 'string' || integrity.trim() === '') return ['has no integrity hash'];
  const problems = [];
  for (const token of integrity.trim().split(/\s+/)) {
    const dash = token.indexOf('-');
    const algorithm = dash === -1 ? token : token.slice(0, dash);
    if (algorithm !== 'sha512') {
      problems.push(`has a ${algorithm} integrity hash; only sha512 is accepted`);
      continue;
    }
    const digest = token.slice(dash + 1).replace(/\?.*$/, '');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(digest) || Buffer.from(digest, 'base64').length !== SHA512_BYTES) {
      problems.push('has a malformed sha512 integrity hash');
    }
  }
  return problems;
}

/** Problems with one `resolved` value: an address must be https, and a registry tarball must be the entry's own package. */
export function resolvedProblems(resolved, name) {
  if (resolved === undefined) return [];
  let url;
  try {
    url = new URL(String(resolved));
  } catch {
    return [`has a resolved value that is not a URL: ${String(resolved)}`];
  }
  if (url.protocol !== 'https:') return [`is resolved over ${url.protocol.replace(/:$/, '')}, not https: ${url.href}`];
  // Registry tarballs live at /<name>/-/<file>.tgz (the name's scope slash may be %2f-encoded).
  const marker = url.pathname.indexOf('/-/');
  if (marker > 0) {
    const urlName = decodeURIComponent(url.pathname.slice(1, marker));
    if (urlName !== name) return [`is resolved to another package's tarball (${urlName}): ${url.href}`];
  }
  return [];
}

/**
 * Checks a parsed package-lock.json (lockfileVersion 2 or 3).
 * @param {unknown} lock
 * @returns {LockfileReport}
 */
export function checkLockfile(lock) {
  if (typeof lock !== 'object' || lock === null || typeof lock.packages !== 'object' || lock.packages === null) {
    return { entries: 0, resolved: 0, problems: [{ entry: '(lockfile)', problem: 'has no "packages" section: lockfileVersion 2 or 3 is required (npm 7 or later)' }] };
  }
  const problems = [];
  let entries = 0;
  let resolved = 0;
  for (const [key, entry] of Object.entries(lock.packages)) {
    // "" is the project itself; links point at folders of this repository; bundled packages come
    // inside their parent's tarball, which carries the integrity hash for them.
    if (key === '' || typeof entry !== 'object' || entry === null || entry.link === true || entry.inBundle === true) continue;
    entries += 1;
    const name = packageNameOf(key, entry);
    const report = (problem) => problems.push({ entry: key, problem });
    integrityProblems(entry.integrity).forEach(report);
    if (entry.resolved !== undefined) {
      resolved += 1;
      resolvedProblems(entry.resolved, name).forEach(report);
    }
  }
  return { entries, resolved, problems };
}

const count = (n, noun, plural = `${noun}s`) => `${n} ${n === 1 ? noun : plural}`;

/** The lines the command prints for a report. */
export function formatReport(report, file) {
  if (report.problems.length === 0) {
    return [`lockfile-check: ${file}: ${count(report.entries, 'package')}, each with a sha512 integrity hash; ${count(report.resolved, 'download address', 'download addresses')}${report.resolved === 0 ? '' : ', all https'}`];
  }
  return [
    `lockfile-check: ${file}: ${count(report.problems.length, 'problem')} in ${count(report.entries, 'package')}`,
    ...report.problems.map(({ entry, problem }) => `  ${entry} ${problem}`),
  ];
}

function main() {
  const file = process.argv[2] ?? 'package-lock.json';
  let report;
  try {
    report = checkLockfile(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    console.error(`lockfile-check: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
    return;
  }
  const lines = formatReport(report, file);
  if (report.problems.length === 0) console.log(lines.join('\n'));
  else console.error(lines.join('\n'));
  process.exitCode = report.problems.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
