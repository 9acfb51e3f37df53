#!/usr/bin/env node
// scripts/bench-brute-force.mjs: the bounded brute-force attack of test/security/brute-force-attack.test.ts,
// with its figures printed for BENCHMARKS.md. Loopback only; every phase is bounded in guesses and time.
// Usage: npx tsc -p tsconfig.json && node scripts/bench-brute-force.mjs [guesses=2000] [addresses=50]

import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..');
const guesses = Math.min(Number(process.argv[2] ?? 2000), 10_000);
const addresses = Math.min(Number(process.argv[3] ?? 50), 250);
if (!Number.isInteger(guesses) || guesses < 1 || !Number.isInteger(addresses) || addresses < 2) {
  console.error('usage: node scripts/bench-brute-force.mjs [guesses (1-10000)] [addresses (2-250)]');
  process.exit(2);
}

const { runBruteForceAttack } = await import(pathToFileURL(path.join(root, 'dist/test/helpers/brute-force-attack.js')).href);

function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((entry) => entry.startsWith('model name'));
    return line?.split(':')[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

const backend = process.env.PORTCULLIS_TEST_DATABASE_URL === undefined ? 'SQLite' : 'PostgreSQL';
const store = process.env.PORTCULLIS_TEST_REDIS_URL === undefined ? `${backend} (counters in the database)` : `${backend} + Redis (counters in Redis)`;
console.log(`machine: ${cpuModel()}, ${cpus().length} cores, Node.js ${process.version}, ${store}`);
console.log(`attack: ${guesses} guesses per phase against one account, bcrypt cost 10, production limits (20 auth posts and 30 failures per address, 5 failures before delays)`);
const result = await runBruteForceAttack({ guesses, addresses, concurrency: 8, ownerEvery: 500, phaseTimeoutMs: 300_000, rightPasswordAt: Math.min(60, guesses - 1) });
console.log('');
console.log('| phase | guesses sent | 429 (rate limit) | 401 | evaluated against the account | refused unevaluated | owner sign-ins (device cookie) | time |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const phase of result.phases) {
  console.log(`| ${phase.phase} | ${phase.sent} | ${phase.rateLimited} | ${phase.refused} | ${phase.evaluated} | ${phase.throttled} | ${phase.ownerSucceeded}/${phase.ownerSignIns} | ${(phase.durationMs / 1000).toFixed(1)} s |`);
}
const total = result.phases.reduce((sum, phase) => sum + phase.evaluated, 0);
const sent = result.phases.reduce((sum, phase) => sum + phase.sent, 0);
console.log('');
console.log(`evaluated in all: ${total} of ${sent} guesses; the right password, sent among the distributed guesses: ${result.rightPasswordStatus ?? 'not sent'}`);
console.log(`throttling emails to the owner: ${result.emails}; account state after: ${JSON.stringify(result.finalFailures)}`);
