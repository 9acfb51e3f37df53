#!/usr/bin/env node
// scripts/bench/store-cpu.mjs: what a signed-in request costs the PostgreSQL and Redis servers
// themselves (issue 8). On a machine where they share the cores with Portcullis (as in
// `npm run bench`), their CPU is what separates the PostgreSQL + Redis figures from SQLite's.
// Starts a Portcullis on the given PostgreSQL and Redis (through the test suite's helpers: build
// first with `npx tsc -p tsconfig.json`), signs an account in, loads GET /api/v1/me and the signed-in
// home page with autocannon for 8 s each, and prints the CPU time the machine's postgres and
// redis-server processes used, divided by the answers. Loopback only.
//
// Usage: PORTCULLIS_TEST_DATABASE_URL=postgres://... PORTCULLIS_TEST_REDIS_URL=redis://... \
//          node scripts/bench/store-cpu.mjs

import { readFileSync, readdirSync } from 'node:fs';
import autocannon from 'autocannon';
import { startAccountsHarness, signedInUser } from '../../dist/test/web/support/harness.js';
if (process.env.PORTCULLIS_TEST_DATABASE_URL === undefined || process.env.PORTCULLIS_TEST_REDIS_URL === undefined) {
  console.error('set PORTCULLIS_TEST_DATABASE_URL and PORTCULLIS_TEST_REDIS_URL');
  process.exit(2);
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux). */
const ticksPerSecond = 100;

/** CPU seconds (user + system) used so far by every process whose name starts with one of `names`. */
function cpuSecondsOf(names) {
  let seconds = 0;
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // the process ended meanwhile
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    if (!names.some((prefix) => name.startsWith(prefix))) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    seconds += (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  }
  return seconds;
}
const harness = await startAccountsHarness();
const client = await signedInUser(harness, 'cpu@example.com');
// The account page gives the session its form token: from then on both pages are the signed-in lane's.
await client.get('/account');
const cookie = `${client.cookieName}=${client.sessionCookie ?? ''}`;
for (const path of ['/api/v1/me', '/']) {
  const before = { pg: cpuSecondsOf(['postgres']), redis: cpuSecondsOf(['redis-server']) };
  const result = await autocannon({ url: `${harness.server.url}${path}`, connections: 20, duration: 8, headers: { cookie, accept: path === '/' ? 'text/html' : 'application/json' }, tlsOptions: { ca: harness.server.ca } });
  const n = result.requests.total;
  const pg = ((cpuSecondsOf(['postgres']) - before.pg) / n) * 1e6;
  const redis = ((cpuSecondsOf(['redis-server']) - before.redis) / n) * 1e6;
  console.log(`GET ${path}: ${n} answers (${result['2xx']} 2xx); CPU per answer: PostgreSQL ${pg.toFixed(0)} µs, Redis ${redis.toFixed(0)} µs`);
}
await harness.close();
