#!/usr/bin/env node
// scripts/bench/run.mjs: `npm run bench` (issue 8). Prices every defence: bare Express 5, the
// guide's stack and Portcullis (SQLite; PostgreSQL + Redis when given), each in its own process on
// loopback, loaded over HTTPS with keep-alive by autocannon from this process. Every figure is the
// median of --reps repetitions with its spread; every comparison is a ratio of two figures from the
// same repetition (the cases run interleaved, so a busy machine slows both sides alike).
// Then: sign-in throughput against bcrypt's limit, event-loop delay during the sign-in flood,
// resident memory with 10,000 and 100,000 live sessions in each store, `portcullis check` time,
// and the issue's targets, met or not. Prints Markdown; --json FILE keeps every raw figure.
//
// Usage: npm run bench [-- --quick] [--reps N] [--duration S] [--warmup S] [--connections C]
//          [--only bare,guide,portcullis,signin,memory,check] [--cases ID,...] [--json FILE]
//          [--write FILE] [--profile DIR] [--compare-with DIR [--compare-label TEXT] [--compare-backend sqlite|postgres] [--compare-env KEY=VALUE,...]]
//          (--compare-with adds Portcullis built in another checkout, say from before a
//          change, to the throughput cases (on SQLite, or PostgreSQL + Redis with --compare-backend postgres) and to the sign-in flood (on each backend), measured in the same run; --cases keeps the throughput cases whose id starts with one of the
//          given prefixes, e.g. sqlite.public; --write FILE puts the report into FILE, e.g.
//          BENCHMARKS.md, between its two marker lines, with this command; --profile writes every server's CPU profile
//          (node --cpu-prof) to DIR)
//        PORTCULLIS_BENCH_DATABASE_URL=postgres://... PORTCULLIS_BENCH_REDIS_URL=redis://... adds
//        Portcullis on PostgreSQL + Redis (a database is created and dropped; keys under a prefix
//        of its own are deleted afterwards).
// Loopback only; every load is bounded in time, and the whole run by --max-minutes.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';
import { measure } from './lib/load.mjs';
import { cpuSeconds, mainThreadCpuSeconds, residentBytes, startChild } from './lib/children.mjs';
import { benchEmail, benchPassword, httpsRequest, startPortcullis } from './lib/portcullis.mjs';
import { formatNumber, formatRatios, formatSeries, median, pairedRatios } from './lib/stats.mjs';
import { commandLine, reportFileProblem, writeReport } from './lib/report-file.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const sections = ['bare', 'guide', 'portcullis', 'signin', 'memory', 'check'];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    only: { type: 'string' },
    cases: { type: 'string' },
    json: { type: 'string' },
    profile: { type: 'string' },
    'compare-with': { type: 'string' },
    'compare-label': { type: 'string' },
    'compare-backend': { type: 'string' },
    'compare-env': { type: 'string' },
    'max-minutes': { type: 'string' },
    write: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  const header = readFileSync(import.meta.filename, 'utf8').split('\n').slice(1);
  console.log(header.slice(0, header.findIndex((line) => !line.startsWith('//'))).map((line) => line.slice(3)).join('\n'));
  process.exit(0);
}

function positive(name, value, fallback, { integer = false, max = Infinity } = {}) {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0 || number > max || (integer && !Number.isInteger(number))) {
    console.error(`bench: --${name} must be a ${integer ? 'whole ' : ''}number above 0${Number.isFinite(max) ? ` and at most ${max}` : ''}`);
    process.exit(2);
  }
  return number;
}

// Checked before anything runs: a long run must not end with nowhere to put its figures.
if (args.write !== undefined) {
  const problem = reportFileProblem(args.write);
  if (problem !== undefined) {
    console.error(`bench: --write: ${problem}`);
    process.exit(2);
  }
}

const quick = args.quick;
const settings = {
  reps: positive('reps', args.reps, 3, { integer: true, max: 20 }),
  durationSec: positive('duration', args.duration, quick ? 2 : 5, { max: 60 }),
  warmupSec: args.warmup === '0' ? 0 : positive('warmup', args.warmup, quick ? 0.5 : 1, { max: 30 }),
  connections: positive('connections', args.connections, 50, { integer: true, max: 500 }),
  // Long enough that the comparisons cut off at the window's end (on both sides) are a small share.
  signInSec: quick ? 4 : 10,
  signInConnections: 16,
  // Sessions for the memory figures, and how many of them (at most, spread over all of them) are
  // read back over HTTP in each phase: reading all 100,000 would take minutes on a small machine.
  sessionCounts: [10_000, 100_000],
  sessionsReadBack: quick ? 5_000 : 20_000,
  // A full run with a compared build and 5 repetitions takes about 35 minutes on 2 cores.
  maxMinutes: positive('max-minutes', args['max-minutes'], 60, { max: 180 }),
};
const only = args.only === undefined ? new Set(sections) : new Set(args.only.split(',').map((entry) => entry.trim()));
for (const entry of only) {
  if (!sections.includes(entry)) {
    console.error(`bench: --only takes ${sections.join(', ')}; got "${entry}"`);
    process.exit(2);
  }
}
const wants = (section) => only.has(section);
const postgresAdminUrl = process.env.PORTCULLIS_BENCH_DATABASE_URL;
const redisUrl = process.env.PORTCULLIS_BENCH_REDIS_URL;
if ((postgresAdminUrl === undefined) !== (redisUrl === undefined)) {
  console.error('bench: give both PORTCULLIS_BENCH_DATABASE_URL and PORTCULLIS_BENCH_REDIS_URL, or neither');
  process.exit(2);
}
const needsPortcullis = wants('portcullis') || wants('signin') || wants('memory') || wants('check');
if (needsPortcullis && !existsSync(path.join(root, 'dist/src/main.js'))) {
  console.error('bench: dist/ is missing; run "npm run build" first (npm run bench does)');
  process.exit(2);
}

// The whole run stops by itself, whatever happens (loads are bounded one by one as well).
const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${settings.maxMinutes} minutes; stopping`);
  void cleanUp().finally(() => process.exit(1));
}, settings.maxMinutes * 60_000);
watchdog.unref();

function machine() {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  let system = `${os.type()} ${os.release()}`;
  try {
    cpu = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((line) => line.startsWith('model name'))?.split(':')[1]?.trim() ?? cpu;
    system = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? system;
  } catch {
    // not Linux: os module figures only
  }
  return { cpu, cores: os.availableParallelism(), node: process.version, system, memoryGiB: Math.round(os.totalmem() / 2 ** 30), loadAverage: os.loadavg().map((value) => Math.round(value * 100) / 100) };
}

const progress = (message) => process.stderr.write(`bench: ${message}\n`);
const children = [];
let workDir;

async function cleanUp() {
  await Promise.allSettled(children.splice(0).map((child) => child.stop()));
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
}

/** node --cpu-prof for a server under test when --profile DIR is given (baselines included). */
function profileArgs(name) {
  return args.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${path.resolve(args.profile)}`, `--cpu-prof-name=${name}.cpuprofile`];
}

async function startBaseline(name, script, env = {}) {
  const child = await startChild({
    name,
    script: path.join(import.meta.dirname, 'servers', script),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_ENV: 'production', BENCH_CERT: tls.cert, BENCH_KEY: tls.key, BENCH_EMAIL: benchEmail, BENCH_PASSWORD: benchPassword, ...env },
    logFile: path.join(workDir, `${name}.log`),
    execArgv: profileArgs(name),
  });
  children.push(child);
  return { name, url: child.ready.url, pid: child.pid, child };
}

async function startInstance(name, options = {}) {
  const instance = await startPortcullis({
    name,
    workDir,
    tls,
    ...(options.backend === 'postgres' ? { postgresAdminUrl, redisUrl } : {}),
    ...(options.root === undefined ? {} : { root: options.root }),
    env: options.env ?? {},
    execArgv: [...profileArgs(name), ...(options.execArgv ?? [])],
  });
  children.push(instance);
  return instance;
}

async function stopOne(handle) {
  const index = children.indexOf(handle);
  if (index !== -1) children.splice(index, 1);
  await handle.stop();
}

async function guideSignIn(url) {
  const answer = await httpsRequest(url, '/login', { method: 'POST', ca: tls.pem, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: benchEmail, password: benchPassword }) });
  const line = (answer.headers['set-cookie'] ?? []).find((entry) => entry.startsWith('siteSessionId='));
  if (answer.status !== 200 || line === undefined) throw new Error(`guide stack sign-in failed: ${answer.status} ${answer.body}`);
  return line.split(';', 1)[0];
}

/** Runs the real `portcullis check` against a loopback instance; wall time in seconds. */
function timeCheck(instance) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [path.join(root, 'dist/src/main.js'), 'check', `${instance.url}/`, '--ca', tls.cert, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      let findings;
      try {
        const report = JSON.parse(output);
        findings = Array.isArray(report.findings) ? report.findings.length : undefined;
      } catch {
        findings = undefined;
      }
      resolve({ seconds: (performance.now() - started) / 1000, code, findings });
    });
  });
}

// ---------------------------------------------------------------------------------------------

const results = { machine: machine(), settings: { ...settings, sessionsReadBack: Number.isFinite(settings.sessionsReadBack) ? settings.sessionsReadBack : 'all' }, throughput: [], signIn: [], memory: [], check: [], targets: [] };
let tls;

try {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'portcullis-bench-'));
  // One self-signed certificate for every server, so TLS costs the same everywhere.
  tls = { cert: path.join(workDir, 'cert.pem'), key: path.join(workDir, 'key.pem') };
  const { ensureSelfSignedCertificate } = await import(pathToFileURL(path.join(root, 'dist/src/server/certificates.js')).href).catch(async () => ({
    // Without dist/ (a bare-Express-only run), the selfsigned package directly.
    ensureSelfSignedCertificate: async (certFile, keyFile) => {
      const selfsigned = await import('selfsigned');
      const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048, days: 2, algorithm: 'sha256' });
      writeFileSync(certFile, pems.cert, { mode: 0o600 });
      writeFileSync(keyFile, pems.private, { mode: 0o600 });
    },
  }));
  await ensureSelfSignedCertificate(tls.cert, tls.key);
  tls.pem = readFileSync(tls.cert, 'utf8');

  // --- Servers --------------------------------------------------------------------------------
  progress(`machine: ${results.machine.cpu}, ${results.machine.cores} cores, Node.js ${results.machine.node}, load average ${results.machine.loadAverage.join(' ')}`);
  const cases = [];
  const bare = await startBaseline('bare-express', 'bare-express.mjs');
  cases.push({ id: 'bare.hello', server: 'bare Express 5', endpoint: 'GET / "hello"', url: bare.url, pid: bare.pid, path: '/', expectStatus: 200 });
  // Below the floor: Node's HTTPS server with no Express, to show what Express itself costs.
  const node = await startBaseline('bare-node', 'bare-express.mjs', { BENCH_ANSWER: 'node' });
  cases.push({ id: 'bare.node', server: 'bare Node.js (no Express)', endpoint: 'GET / "hello"', url: node.url, pid: node.pid, path: '/', expectStatus: 200 });
  // The same floor sending Portcullis's answer (its headers and the guest home page), nothing else:
  // what the answer itself costs, apart from the defences (needs the build in dist/).
  if (wants('portcullis') && existsSync(path.join(root, 'dist/src/web/render.js'))) {
    const answer = await startBaseline('bare-express-answer', 'bare-express.mjs', { BENCH_ANSWER: 'portcullis' });
    cases.push({ id: 'bare.answer', server: 'bare Express 5', endpoint: "Portcullis's answer (headers + home page), no defences", url: answer.url, pid: answer.pid, path: '/', expectStatus: 200 });
  }

  if (wants('guide')) {
    const guide = await startBaseline('guide-stack', 'guide-stack.mjs', { BENCH_RATE_LIMIT_MAX: '100000000' });
    const guideLimited = await startBaseline('guide-stack-429', 'guide-stack.mjs');
    const cookie = await guideSignIn(guide.url);
    cases.push(
      { id: 'guide.public', server: "guide's stack", endpoint: 'public page', url: guide.url, pid: guide.pid, path: '/', expectStatus: 200 },
      { id: 'guide.page', server: "guide's stack", endpoint: 'authenticated page', url: guide.url, pid: guide.pid, path: '/account', headers: { cookie }, expectStatus: 200 },
      { id: 'guide.me', server: "guide's stack", endpoint: '/me JSON', url: guide.url, pid: guide.pid, path: '/api/me', headers: { cookie }, expectStatus: 200 },
      { id: 'guide.csrf', server: "guide's stack", endpoint: 'cross-site POST', skip: 'no CSRF defence: the post is accepted' },
      { id: 'guide.limited', server: "guide's stack", endpoint: 'rate-limited (429)', url: guideLimited.url, pid: guideLimited.pid, path: '/', expectStatus: 429 },
    );
  }

  const backends = [{ key: 'sqlite', label: 'Portcullis, SQLite', backend: 'sqlite' }];
  if (postgresAdminUrl !== undefined) backends.push({ key: 'postgres', label: 'Portcullis, PostgreSQL + Redis', backend: 'postgres' });
  // Another build (--compare-with), on SQLite for throughput (and on each backend for the sign-in flood): before and after in one run.
  // --compare-backend postgres puts the other build's throughput cases on PostgreSQL + Redis instead.
  const comparedBackend = backends.find(({ backend }) => backend === (args['compare-backend'] ?? 'sqlite'));
  if (args['compare-with'] !== undefined && comparedBackend === undefined) throw new Error('--compare-backend: sqlite, or postgres with PORTCULLIS_BENCH_DATABASE_URL and PORTCULLIS_BENCH_REDIS_URL set');
  // --compare-env KEY=VALUE,... gives the other build settings of its own (with --compare-with . it measures one setting of this build).
  const comparedEnvPairs = (args['compare-env'] ?? '').split(',').filter((pair) => pair !== '');
  if (comparedEnvPairs.some((pair) => pair.indexOf('=') < 1)) throw new Error('--compare-env: KEY=VALUE pairs separated by commas');
  const comparedEnv = Object.fromEntries(comparedEnvPairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
  const compared = args['compare-with'] === undefined || comparedBackend === undefined ? [] : [{ key: 'compared', label: `${comparedBackend.label}, ${args['compare-label'] ?? path.basename(path.resolve(args['compare-with']))}`, backend: comparedBackend.backend, root: path.resolve(args['compare-with']) }];
  const instances = new Map();
  if (wants('portcullis') || wants('check')) {
    for (const { key, label, backend, root: otherRoot } of [...backends, ...(wants('portcullis') ? compared : [])]) {
      const main = await startInstance(`portcullis-${key}`, { backend, root: otherRoot, env: key === 'compared' ? comparedEnv : {} });
      await main.createUser();
      const cookie = await main.signIn();
      instances.set(key, main);
      if (!wants('portcullis')) continue;
      // The 429 path is measured on an instance whose general limit is the lowest allowed (10):
      // the warm-up spends it, and every measured request is refused.
      const limited = await startInstance(`portcullis-${key}-429`, { backend, root: otherRoot, env: { PORTCULLIS_RATE_LIMIT_MAX: '10' } });
      cases.push(
        { id: `${key}.public`, server: label, endpoint: 'public page', url: main.url, pid: main.pid, path: '/', expectStatus: 200, guide: 'guide.public' },
        // The like-for-like authenticated page: the session looked up, the account read fresh
        // (revocation, disabled), a page rendered with the user's name. The account page does
        // much more (the user's sessions, recent activity, second factors) and is measured too.
        { id: `${key}.page`, server: label, endpoint: 'authenticated page (home, signed in)', url: main.url, pid: main.pid, path: '/', headers: { cookie }, expectStatus: 200, guide: 'guide.page' },
        { id: `${key}.account`, server: label, endpoint: 'account page (sessions, activity, MFA)', url: main.url, pid: main.pid, path: '/account', headers: { cookie }, expectStatus: 200, guide: 'guide.page' },
        { id: `${key}.me`, server: label, endpoint: 'GET /api/v1/me', url: main.url, pid: main.pid, path: '/api/v1/me', headers: { cookie, accept: 'application/json' }, expectStatus: 200, guide: 'guide.me' },
        {
          id: `${key}.csrf`,
          server: label,
          endpoint: 'cross-site POST (403)',
          url: main.url,
          pid: main.pid,
          path: '/account/profile',
          method: 'POST',
          // A signed-in victim's browser posting another site's form: refused, logged and audited.
          headers: { cookie, origin: 'https://attacker.example', 'sec-fetch-site': 'cross-site', 'content-type': 'application/x-www-form-urlencoded' },
          body: 'displayName=pwned',
          expectStatus: 403,
        },
        { id: `${key}.limited`, server: label, endpoint: 'rate-limited (429)', url: limited.url, pid: limited.pid, path: '/', expectStatus: 429, guide: 'guide.limited' },
      );
    }
  }

  // --- Throughput -----------------------------------------------------------------------------
  const chosen = args.cases === undefined ? undefined : args.cases.split(',').map((entry) => entry.trim());
  const measured = cases.filter(
    (entry) =>
      entry.skip === undefined &&
      (entry.id.startsWith('bare.') || (entry.id.startsWith('guide.') ? wants('guide') : wants('portcullis'))) &&
      (chosen === undefined || chosen.some((prefix) => entry.id.startsWith(prefix))),
  );
  if (wants('bare') || wants('guide') || wants('portcullis')) {
    const series = new Map(measured.map((entry) => [entry.id, []]));
    for (let rep = 1; rep <= settings.reps; rep += 1) {
      for (const entry of measured) {
        progress(`rep ${rep}/${settings.reps}: ${entry.server}, ${entry.endpoint}`);
        const figures = await measure({ ...entry, connections: settings.connections, durationSec: settings.durationSec, warmupSec: settings.warmupSec });
        series.get(entry.id).push(figures);
      }
    }
    const rpsOf = (id) => (series.get(id) ?? []).map((figures) => figures.rps);
    const cpuOf = (id) => (series.get(id) ?? []).map((figures) => figures.cpuMicros ?? Number.NaN);
    for (const entry of cases) {
      const runs = series.get(entry.id) ?? [];
      if (entry.skip === undefined && runs.length === 0) continue;
      results.throughput.push({
        id: entry.id,
        server: entry.server,
        endpoint: entry.endpoint,
        skip: entry.skip,
        expectStatus: entry.expectStatus,
        rps: runs.map((figures) => figures.rps),
        cpuMicros: runs.map((figures) => figures.cpuMicros).filter((value) => value !== undefined),
        p50: runs.map((figures) => figures.latency.p50),
        p99: runs.map((figures) => figures.latency.p99),
        unexpected: runs.reduce((sum, figures) => sum + figures.unexpected + figures.errors + figures.timeouts, 0),
        statuses: runs.map((figures) => figures.statuses),
        vsBare: entry.skip === undefined ? pairedRatios(rpsOf(entry.id), rpsOf('bare.hello')) : [],
        cpuVsBare: entry.skip === undefined ? pairedRatios(cpuOf('bare.hello'), cpuOf(entry.id)) : [],
        vsGuide: entry.skip === undefined && entry.guide !== undefined && series.has(entry.guide) ? pairedRatios(rpsOf(entry.id), rpsOf(entry.guide)) : [],
      });
    }
  }
  // Load from here on is about other things; the throughput-only instances can go.
  for (const child of [...children]) if (child.name.endsWith('-429') || child.name.startsWith('guide-stack')) await stopOne(child);

  // --- Sign-in against bcrypt's limit ----------------------------------------------------------
  if (wants('signin')) {
    const bcryptLimit = async (cost) => {
      const probe = await startChild({
        name: `bcrypt-${cost}`,
        script: path.join(import.meta.dirname, 'servers/bcrypt-limit.mjs'),
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BENCH_COST: String(cost), BENCH_SECONDS: String(settings.signInSec), BENCH_CONCURRENCY: String(settings.signInConnections) },
        logFile: path.join(workDir, 'bcrypt.log'),
      });
      await probe.stop();
      return { windowed: probe.ready.hashesPerSecond, drained: probe.ready.drainedHashesPerSecond };
    };
    // Where the server's CPU went during the flood: all of it, and its main thread's share (the
    // event loop; the rest is libuv's pool hashing), per sign-in. On two cores, every millisecond
    // the main thread spends is one the hashing threads do not get.
    const flood = async (target, cost, bodies, headers, expectStatus, probe) => {
      if (probe !== undefined) await probe.request({ type: 'eld-start' });
      const before = target.pid === undefined ? undefined : { all: cpuSeconds(target.pid), main: mainThreadCpuSeconds(target.pid) };
      const figures = await measure({ url: target.url, path: target.path, method: 'POST', headers, body: bodies[0], bodies, connections: settings.signInConnections, durationSec: settings.signInSec, warmupSec: 0, expectStatus });
      const perSignIn = (seconds) => (figures.total === 0 ? undefined : (seconds * 1000) / figures.total);
      const cpu = before === undefined ? undefined : { allMs: perSignIn(cpuSeconds(target.pid) - before.all), mainMs: perSignIn(mainThreadCpuSeconds(target.pid) - before.main) };
      const delay = probe === undefined ? undefined : await probe.request({ type: 'eld-read' });
      return { figures, delay, cpu };
    };
    // One account per connection. Portcullis counts a sign-in from an unknown browser as a failure
    // of its account before evaluating it (storage/brute-force/port.ts: concurrent guesses cannot
    // skip the count), so more than 4 in flight for one account start its delay and the rest are
    // refused unevaluated: one shared account measured the throttle, not sign-in throughput.
    const signInEmails = Array.from({ length: settings.signInConnections }, (_, index) => `bench-signin-${String(index + 1).padStart(3, '0')}@example.com`);
    const signInBodies = signInEmails.map((email) => JSON.stringify({ email, password: benchPassword }));
    const subjects = [];
    // With --compare-with, the other build floods too (on each backend), interleaved with this one.
    const comparedSignIn = compared.length === 0 ? [] : backends.map(({ key, label, backend }) => ({ key: `compared-${key}`, label: `${label}, ${args['compare-label'] ?? path.basename(path.resolve(args['compare-with']))}`, backend, root: compared[0].root, compared: true }));
    for (const { key, label, backend, root: otherRoot, compared: isCompared } of [...backends, ...comparedSignIn]) {
      let instance = instances.get(key);
      if (instance === undefined) {
        instance = await startInstance(`portcullis-${key}`, { backend, root: otherRoot });
        await instance.createUser();
        instances.set(key, instance);
      }
      progress(`creating ${signInEmails.length} sign-in accounts on ${label}`);
      for (const email of signInEmails) await instance.createUser(email);
      subjects.push({
        label,
        compared: isCompared === true,
        cost: instance.config.passwords.bcryptCost,
        run: () =>
          flood({ url: instance.url, pid: instance.pid, path: '/api/v1/auth/sign-in' }, instance.config.passwords.bcryptCost, signInBodies, { 'content-type': 'application/json', accept: 'application/json', origin: instance.publicOrigin }, 200, instance.child),
      });
    }
    if (wants('guide')) {
      const guide = await startBaseline('guide-stack-signin', 'guide-stack.mjs', { BENCH_RATE_LIMIT_MAX: '100000000' });
      // The guide's stack has one user and no per-account throttle: every connection signs it in.
      subjects.push({ label: "guide's stack", cost: 10, run: () => flood({ url: guide.url, pid: guide.pid, path: '/login' }, 10, [JSON.stringify({ email: benchEmail, password: benchPassword })], { 'content-type': 'application/json' }, 200, undefined) });
    }
    for (const subject of subjects) subject.row = { label: subject.label, compared: subject.compared === true, cost: subject.cost, hashes: [], hashesDrained: [], signIns: [], p99: [], delayP99: [], delayMax: [], cpuMs: [], mainThreadMs: [], statuses: [], unexpected: 0 };
    for (let rep = 1; rep <= settings.reps; rep += 1) {
      for (const subject of subjects) {
        const row = subject.row;
        progress(`rep ${rep}/${settings.reps}: bcrypt cost ${subject.cost} limit, then sign-in flood on ${subject.label}`);
        const limit = await bcryptLimit(subject.cost);
        row.hashes.push(limit.windowed);
        row.hashesDrained.push(limit.drained);
        const { figures, delay, cpu } = await subject.run();
        if (cpu?.allMs !== undefined && cpu.mainMs !== undefined) {
          row.cpuMs.push(cpu.allMs);
          row.mainThreadMs.push(cpu.mainMs);
        }
        row.signIns.push(figures.total / figures.durationSec);
        row.p99.push(figures.latency.p99);
        row.statuses.push({ ...figures.statuses, errors: figures.errors, timeouts: figures.timeouts });
        row.unexpected += figures.unexpected + figures.errors + figures.timeouts;
        if (delay) {
          row.delayP99.push(delay.p99);
          row.delayMax.push(delay.max);
        }
      }
    }
    for (const { row } of subjects) results.signIn.push({ ...row, ratio: pairedRatios(row.signIns, row.hashes) });
    for (const child of [...children]) if (child.name.startsWith('guide-stack')) await stopOne(child);
  }

  // --- Portcullis check ------------------------------------------------------------------------
  if (wants('check')) {
    const instance = instances.get('sqlite');
    for (let rep = 1; rep <= settings.reps; rep += 1) {
      progress(`rep ${rep}/${settings.reps}: portcullis check ${instance.url}/`);
      results.check.push(await timeCheck(instance));
    }
  }
  for (const instance of instances.values()) await stopOne(instance);

  // --- Memory with many live sessions ----------------------------------------------------------
  if (wants('memory')) {
    for (const { key, label, backend } of backends) {
      const store = backend === 'postgres' ? 'Redis' : 'SQLite';
      progress(`memory: ${label}, sessions in ${store}`);
      const instance = await startInstance(`portcullis-${key}-memory`, { backend, execArgv: ['--expose-gc'] });
      await instance.createUser();
      const template = await instance.signIn();
      const row = { label, store, points: [] };
      const cookies = [];
      for (const count of settings.sessionCounts) {
        const started = performance.now();
        cookies.push(...(await instance.seedSessions(template, count - cookies.length)));
        const seedSec = (performance.now() - started) / 1000;
        // Every session (or, with --quick, a sample) is read back over HTTP: the server has seen
        // them all, so whatever it kept of them is in its memory now.
        const readBack = Math.min(count, settings.sessionsReadBack);
        const sample = readBack === count ? cookies : cookies.filter((_cookie, index) => index % Math.ceil(count / readBack) === 0);
        const figures = await measure({ url: instance.url, path: '/api/v1/me', headers: { accept: 'application/json' }, cookies: sample, connections: settings.connections, durationSec: 600, maxRequests: sample.length, warmupSec: 0, expectStatus: 200 });
        const memory = await instance.child.request({ type: 'memory' });
        row.points.push({ sessions: count, rss: residentBytes(instance.pid), heapUsed: memory.heapUsed, collected: memory.collected, readBack: figures.total, unexpected: figures.unexpected + figures.errors + figures.timeouts, seedSec });
      }
      results.memory.push(row);
      await stopOne(instance);
    }
  }
} catch (error) {
  await cleanUp();
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
}
await cleanUp();
results.machine.loadAverageAfter = os.loadavg().map((value) => Math.round(value * 100) / 100);

// --- Targets -------------------------------------------------------------------------------------
const row = (id) => results.throughput.find((entry) => entry.id === id);
const target = (name, figure, met, note = '') => results.targets.push({ name, figure, met, note });
for (const { key, label } of [{ key: 'sqlite', label: 'SQLite' }, { key: 'postgres', label: 'PostgreSQL + Redis' }]) {
  const vsBare = (id, share, what) => {
    const found = row(`${key}.${id}`);
    if (found === undefined) return;
    const middle = median(found.vsBare);
    target(`${label}: ${what} ≥ ${share * 100}% of bare Express`, formatRatios(found.vsBare), middle >= share);
  };
  vsBare('public', 0.75, 'public page');
  vsBare('page', 0.6, 'authenticated page (home, signed in)');
  vsBare('me', 0.6, 'GET /api/v1/me');
  vsBare('limited', 0.9, '429 path');
  const page = row(`${key}.page`);
  if (page !== undefined && page.vsGuide.length > 0) target(`${label}: authenticated page (home, signed in) ≥ the guide's stack`, formatRatios(page.vsGuide), median(page.vsGuide) >= 1);
  if (page !== undefined && key === 'sqlite') target(`SQLite: authenticated page (home, signed in) p99 < 25 ms at ${settings.connections} connections`, `${formatSeries(page.p99)} ms`, median(page.p99) < 25);
}
for (const entry of results.signIn) {
  // The guide's stack has no target; another build (--compare-with) is only there to compare.
  if (entry.label === "guide's stack" || entry.compared === true) continue;
  target(`${entry.label}: sign-ins ≥ 90% of bcrypt's limit (cost ${entry.cost})`, formatRatios(entry.ratio), median(entry.ratio) >= 0.9);
  if (entry.delayP99.length > 0) target(`${entry.label}: event-loop delay p99 < 20 ms during the sign-in flood`, `${formatSeries(entry.delayP99, 1)} ms`, median(entry.delayP99) < 20);
}
for (const entry of results.memory) {
  const [small, large] = entry.points;
  if (small !== undefined && large !== undefined) {
    const growth = (large.rss - small.rss) / 2 ** 20;
    target(`sessions in ${entry.store}: RSS grows < 30 MB from 10,000 to 100,000 sessions`, `${formatNumber(growth, 1)} MB`, growth < 30);
  }
}
if (results.check.length > 0) {
  const seconds = results.check.map((entry) => entry.seconds);
  target('portcullis check of a loopback server < 3 s', `${formatSeries(seconds, 2)} s`, median(seconds) < 3);
}

// --- Report --------------------------------------------------------------------------------------
const lines = [];
const m = results.machine;
lines.push(`Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node.js ${m.node}, ${m.system}; load average ${m.loadAverage.join(' ')} at the start, ${m.loadAverageAfter.join(' ')} at the end.`);
lines.push(`Load: autocannon over HTTPS with keep-alive, ${settings.connections} connections, ${settings.warmupSec} s warm-up then ${settings.durationSec} s measured, ${settings.reps} repetitions interleaved; median (lowest–highest). Server CPU is the server process's user + system time (all threads, from /proc) over the measured run divided by the answers: it moves much less than requests per second when other work shares the machine.`);
lines.push('');
if (results.throughput.length > 0) {
  lines.push('| server | endpoint | requests/s | p50 ms | p99 ms | vs bare Express | vs the guide\'s stack | server CPU µs/request | CPU: bare ÷ this |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const entry of results.throughput) {
    if (entry.skip !== undefined) {
      lines.push(`| ${entry.server} | ${entry.endpoint} | — (${entry.skip}) | | | | | | |`);
      continue;
    }
    const status = entry.unexpected > 0 ? ` (${entry.unexpected} answers not ${entry.expectStatus})` : '';
    lines.push(`| ${entry.server} | ${entry.endpoint} | ${formatSeries(entry.rps)}${status} | ${formatSeries(entry.p50)} | ${formatSeries(entry.p99)} | ${entry.id === 'bare.hello' ? '100%' : formatRatios(entry.vsBare)} | ${entry.vsGuide.length > 0 ? formatRatios(entry.vsGuide) : ''} | ${formatSeries(entry.cpuMicros)} | ${entry.id === 'bare.hello' ? '100%' : formatRatios(entry.cpuVsBare)} |`);
  }
  lines.push('');
}
if (results.signIn.length > 0) {
  lines.push(`Sign-in flood: ${settings.signInConnections} connections posting the right password for ${settings.signInSec} s, each connection for an account of its own on Portcullis (one account's concurrent sign-ins from unknown browsers meet its throttle by design); bcrypt's limit measured just before each flood in a separate process (${settings.signInConnections} comparisons in flight, Node's default thread pool of 4), counted as autocannon counts the flood: comparisons completed inside a window of the same length. Event-loop delay from the server's debug channel (monitorEventLoopDelay at 1 ms resolution, over the flood). Server CPU per sign-in from /proc over the flood: the whole process, and its main thread (the event loop; the rest is the hashing threads).`);
  lines.push('');
  lines.push('| server | bcrypt cost | bcrypt limit (hashes/s) | sign-ins/s | share of the limit | sign-in p99 ms | event-loop delay p99 ms | max ms | server CPU ms/sign-in | main thread ms/sign-in |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const entry of results.signIn) {
    const status = entry.unexpected > 0 ? ` (${entry.unexpected} failed)` : '';
    lines.push(`| ${entry.label} | ${entry.cost} | ${formatSeries(entry.hashes, 1)} | ${formatSeries(entry.signIns, 1)}${status} | ${formatRatios(entry.ratio)} | ${formatSeries(entry.p99)} | ${entry.delayP99.length > 0 ? formatSeries(entry.delayP99, 1) : 'n/a'} | ${entry.delayMax.length > 0 ? formatSeries(entry.delayMax, 1) : 'n/a'} | ${entry.cpuMs.length > 0 ? formatSeries(entry.cpuMs, 1) : 'n/a'} | ${entry.mainThreadMs.length > 0 ? formatSeries(entry.mainThreadMs, 1) : 'n/a'} |`);
  }
  lines.push('');
}
if (results.memory.length > 0) {
  const readBack = `up to ${formatNumber(settings.sessionsReadBack)} of them, spread over all,`;
  lines.push(`Memory: one instance; sessions added through the server's own store class, then ${readBack} read back with GET /api/v1/me (${settings.connections} connections); resident memory (VmRSS) after a full garbage collection.`);
  lines.push('');
  lines.push('| server | sessions in | live sessions | read back over HTTP | RSS MB | heap used MB |');
  lines.push('|---|---|---:|---:|---:|---:|');
  for (const entry of results.memory) {
    for (const point of entry.points) {
      lines.push(`| ${entry.label} | ${entry.store} | ${formatNumber(point.sessions)} | ${formatNumber(point.readBack)}${point.unexpected > 0 ? ` (${point.unexpected} failed)` : ''} | ${formatNumber(point.rss / 2 ** 20, 1)} | ${formatNumber(point.heapUsed / 2 ** 20, 1)} |`);
    }
  }
  lines.push('');
}
if (results.check.length > 0) {
  lines.push(`\`portcullis check\` of the SQLite instance over loopback: ${formatSeries(results.check.map((entry) => entry.seconds), 2)} s wall time (exit code ${results.check.map((entry) => entry.code).join(', ')}; the self-signed certificate is a finding).`);
  lines.push('');
}
if (results.targets.length > 0) {
  lines.push('| target | figure | met |');
  lines.push('|---|---|---|');
  for (const entry of results.targets) lines.push(`| ${entry.name} | ${entry.figure} | ${entry.met ? 'yes' : '**no**'} |`);
  lines.push('');
}
console.log(lines.join('\n'));
if (args.write !== undefined) {
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' });
  const commit = git.status === 0 ? git.stdout.trim() : undefined;
  writeReport(args.write, lines.join('\n'), { command: commandLine(process.argv.slice(2), process.env), commit, date: new Date().toISOString().slice(0, 10) });
  console.error(`bench: report written to ${args.write}`);
}
if (args.json !== undefined) writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
process.exit(0);
