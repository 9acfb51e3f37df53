#!/usr/bin/env node
// scripts/bench-dashboard.mjs: how fast /admin/security renders over a million audit events.
//
// Usage: npm run build && node scripts/bench-dashboard.mjs [--rows N] [--runs N] [--keep]
//   Seeds N audit events (default 1,000,000) over the last 60 days into a fresh SQLite database
//   in a temporary folder (and into a fresh PostgreSQL database too when
//   PORTCULLIS_TEST_DATABASE_URL names a server), by bulk insert: the rows are chained exactly as
//   the server chains them (keyed hashes, commitments) and the hourly rollups are written in one
//   pass. Then it times what the page does (every dashboard query, and rendering the HTML with
//   its SVG charts), for the default view and for filtered views, and prints the median of
//   --runs runs (default 9) of each, plus `portcullis audit verify`'s time over the whole chain.
// --keep leaves the SQLite file in place (to look at query plans). Seeding is bounded (it stops after 10 minutes whatever N is); everything runs on this machine.

import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';

const root = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..');
const dist = (file) => path.join(root, 'dist', 'src', file);
const { auditChainKey, commitPersonalFields, genesisHash, rowHash, stateMac, verifyAuditChain } = await import(dist('observability/audit-chain.js'));
const { createDashboardSource } = await import(dist('observability/dashboard.js'));
const { hourOf, networkOf, signalsOf, isAuthenticationFailure } = await import(dist('observability/security-signals.js'));
const { openDatabase, migrateToLatest } = await import(dist('storage/database.js'));
const { AdminDashboardPage } = await import(dist('web/pages/admin-dashboard.js'));
const { dashboardEventTypes } = await import(dist('web/routes/admin-security.js'));
const { renderDocument } = await import(dist('web/render.js'));

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '9' }, keep: { type: 'boolean', default: false } } });
const totalRows = Number(values.rows);
const runs = Number(values.runs);
if (!Number.isInteger(totalRows) || totalRows < 1000 || totalRows > 20_000_000) throw new Error('--rows must be a whole number from 1000 to 20,000,000');
if (!Number.isInteger(runs) || runs < 1 || runs > 101) throw new Error('--runs must be from 1 to 101');
const seedDeadline = Date.now() + 10 * 60_000;

const masterKey = Buffer.from('bench-dashboard-master-key-0123456789-abcdefghij');
const key = auditChainKey(masterKey);
const now = Date.now();
const spanMs = 60 * 86_400_000;
const users = Array.from({ length: 2000 }, () => randomUUID());

// A deterministic pseudo-random stream, so every run seeds the same month.
let state = 42;
const next = () => (state = (state * 1_103_515_245 + 12_345) % 2_147_483_648);
const pick = (list) => list[next() % list.length];

/** One event like production's mix: mostly sign-ins, some failures, throttling, MFA, sessions. */
function makeEvent(index) {
  const at = now - spanMs + Math.floor((index / totalRows) * spanMs);
  const roll = next() % 1000;
  const user = pick(users);
  const network = next() % 400;
  const ip = network < 300 ? `198.51.${network % 250}.${next() % 250}` : `2001:db8:${(network % 100).toString(16)}::${(next() % 60000).toString(16)}`;
  const ua = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
  if (roll < 600) return { at, type: 'sign_in', outcome: 'success', actor_id: user, subject_id: user, ip, user_agent: ua, detail: null };
  if (roll < 850) return { at, type: 'sign_in', outcome: 'failure', actor_id: null, subject_id: next() % 3 === 0 ? null : user, ip, user_agent: ua, detail: JSON.stringify({ reason: 'wrong_password', email: `user${next() % 2000}@example.com` }) };
  if (roll < 880) return { at, type: 'sign_in', outcome: 'failure', actor_id: null, subject_id: user, ip, user_agent: ua, detail: JSON.stringify({ reason: 'account_throttled', failures: 6, trustedDevice: false }) };
  if (roll < 882) return { at, type: 'sign_in_throttled', outcome: 'failure', actor_id: null, subject_id: user, ip, user_agent: ua, detail: JSON.stringify({ failures: 5, step: 'password' }) };
  if (roll < 900) return { at, type: 'second_factor', outcome: 'failure', actor_id: user, subject_id: user, ip, user_agent: ua, detail: JSON.stringify({ method: next() % 4 === 0 ? 'recovery_code' : 'totp', purpose: 'sign_in', reason: 'wrong_code' }) };
  if (roll < 960) return { at, type: 'sign_out', outcome: 'success', actor_id: user, subject_id: user, ip, user_agent: ua, detail: null };
  if (roll < 980) return { at, type: 'password_changed', outcome: 'success', actor_id: user, subject_id: user, ip, user_agent: ua, detail: null };
  return { at, type: 'csrf_rejected', outcome: 'failure', actor_id: null, subject_id: user, ip, user_agent: ua, detail: JSON.stringify({ reason: 'missing-token', method: 'POST', path: '/account' }) };
}

/**
 * Produces chained rows in batches, and the rollups the server would have written one by one.
 * `write(batch)` stores a batch; returns the final chain state and the rollup maps.
 */
async function seed(write) {
  const rollup = new Map();
  const sources = new Map();
  let previous = genesisHash;
  let seq = 0;
  let batch = [];
  for (let index = 0; index < totalRows; index += 1) {
    if (index % 50_000 === 0 && Date.now() > seedDeadline) throw new Error(`seeding stopped after 10 minutes at ${index} rows`);
    const event = makeEvent(index);
    seq += 1;
    const personal = commitPersonalFields(event);
    const row = { id: randomUUID(), ...event, seq, ...personal };
    row.hash = rowHash(key, row, previous);
    previous = row.hash;
    batch.push(row);
    const detail = event.detail === null ? null : JSON.parse(event.detail);
    const signals = signalsOf({ type: event.type, outcome: event.outcome, detail });
    const hour = hourOf(event.at);
    for (const signal of signals) {
      const rollupKey = `${hour}|${signal.metric}|${signal.label}`;
      rollup.set(rollupKey, (rollup.get(rollupKey) ?? 0) + 1);
    }
    const network = networkOf(event.ip);
    if (network !== undefined && signals.some(isAuthenticationFailure)) {
      const sourceKey = `${hour}|${network}`;
      sources.set(sourceKey, (sources.get(sourceKey) ?? 0) + 1);
    }
    if (batch.length === 10_000) {
      await write(batch);
      batch = [];
      if (seq % 200_000 === 0) process.stderr.write(`  ${seq} rows\n`);
    }
  }
  if (batch.length > 0) await write(batch);
  const chain = { anchor_seq: 0, anchor_hash: genesisHash, anchor_at: null, head_seq: seq, head_hash: previous, legacy_sealed: 1 };
  return { chain: { ...chain, state_mac: stateMac(key, chain) }, rollup, sources };
}

const columns = ['id', 'at', 'type', 'outcome', 'actor_id', 'subject_id', 'ip', 'user_agent', 'detail', 'seq', 'hash', 'personal_salt', 'personal_commitment'];
/** A row's values in the order of `columns`. */
const valuesOf = (row) => [row.id, row.at, row.type, row.outcome, row.actor_id, row.subject_id, row.ip, row.user_agent, row.detail, row.seq, row.hash, row.personal_salt, row.personal_commitment];

function median(values) {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)];
}

const views = [
  { name: 'default view (last 24 h, 30 days, latest 50 events)', filters: {} },
  { name: 'events filtered: failed sign-ins', filters: { type: 'sign_in', outcome: 'failure' } },
  { name: 'events filtered: one week, failures, page 5', filters: { outcome: 'failure', from: now - 14 * 86_400_000, to: now - 7 * 86_400_000, page: 5 } },
];

async function measure(label, db) {
  const admin = { id: randomUUID(), email: 'bench@example.com', displayName: 'Bench', role: 'admin', emailVerified: true, disabled: false, createdAt: now, passwordChangedAt: now };
  const source = createDashboardSource({ db, activeSessions: async () => 0 });
  const results = [];
  for (const view of views) {
    const times = [];
    let bytes = 0;
    // One warm-up run (caches, prepared statements), then the timed ones.
    for (let run = 0; run <= runs; run += 1) {
      const started = process.hrtime.bigint();
      const snapshot = await source.snapshot(view.filters);
      const html = renderDocument(
        AdminDashboardPage({
          context: { siteName: 'Portcullis', user: admin, flash: undefined, csrfToken: 'x'.repeat(43) },
          snapshot,
          filters: { type: view.filters.type ?? '', outcome: view.filters.outcome ?? '', from: '', to: '', page: view.filters.page ?? 1 },
          eventTypes: dashboardEventTypes,
        }),
      );
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      bytes = html.length;
      if (run > 0) times.push(ms);
    }
    results.push({ view: view.name, medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times), htmlBytes: bytes });
  }
  const started = process.hrtime.bigint();
  const report = await verifyAuditChain(db, key);
  const verifyMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (!report.ok) throw new Error(`the seeded chain does not verify: ${report.problems[0]?.message}`);
  console.log(`\n${label}: ${totalRows.toLocaleString('en')} audit events`);
  for (const result of results) console.log(`  ${result.view}: median ${result.medianMs.toFixed(1)} ms (min ${result.minMs.toFixed(1)}, max ${result.maxMs.toFixed(1)}, ${runs} runs, ${Math.round(result.htmlBytes / 1024)} KiB of HTML)`);
  console.log(`  portcullis audit verify over the whole chain: ${(verifyMs / 1000).toFixed(1)} s (${report.checked.toLocaleString('en')} rows)`);
  return { label, results, verifyMs };
}

async function writeRollups(db, rollup, sources) {
  const rows = [...rollup].map(([entry, events]) => {
    const [hour, metric, label] = entry.split('|');
    return { hour: Number(hour), metric, label, events };
  });
  for (let start = 0; start < rows.length; start += 500) await db.insertInto('security_rollup').values(rows.slice(start, start + 500)).execute();
  const sourceRows = [...sources].map(([entry, failures]) => {
    const [hour, network] = entry.split('|');
    return { hour: Number(hour), network, failures };
  });
  for (let start = 0; start < sourceRows.length; start += 500) await db.insertInto('failure_sources').values(sourceRows.slice(start, start + 500)).execute();
}

async function benchSqlite() {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'portcullis-bench-'));
  const filename = path.join(folder, 'bench.db');
  try {
    const db = openDatabase({ kind: 'sqlite', filename });
    await migrateToLatest(db);
    await db.destroy();
    // Bulk insert straight through better-sqlite3: one prepared statement, 10,000 rows a transaction.
    const raw = new SqliteDatabase(filename);
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = OFF');
    const insert = raw.prepare(`insert into audit_events (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`);
    const insertMany = raw.transaction((rows) => {
      for (const row of rows) insert.run(valuesOf(row));
    });
    const started = Date.now();
    const { chain, rollup, sources } = await seed((rows) => insertMany(rows));
    raw.prepare('update audit_chain set anchor_seq = ?, anchor_hash = ?, anchor_at = ?, head_seq = ?, head_hash = ?, legacy_sealed = ?, state_mac = ? where id = 1').run(chain.anchor_seq, chain.anchor_hash, chain.anchor_at, chain.head_seq, chain.head_hash, chain.legacy_sealed, chain.state_mac);
    raw.exec('analyze');
    raw.close();
    const reopened = openDatabase({ kind: 'sqlite', filename });
    await writeRollups(reopened, rollup, sources);
    console.log(`SQLite: seeded in ${((Date.now() - started) / 1000).toFixed(0)} s (${rollup.size} rollup rows, ${sources.size} source rows)`);
    const result = await measure('SQLite (better-sqlite3, WAL)', reopened);
    await reopened.destroy();
    return result;
  } finally {
    if (values.keep) console.log(`  (kept: ${filename})`);
    else rmSync(folder, { recursive: true, force: true });
  }
}

async function benchPostgres(adminUrl) {
  const name = `portcullis_bench_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    const db = openDatabase({ kind: 'postgres', url: url.toString(), poolSize: 5, preparedStatements: true });
    await migrateToLatest(db);
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    const types = ['text', 'bigint', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'bigint', 'text', 'text', 'text'];
    const statement = `insert into audit_events (${columns.join(', ')}) select * from unnest(${types.map((type, index) => `$${index + 1}::${type}[]`).join(', ')})`;
    const started = Date.now();
    // One array per column: unnest() turns them back into rows, 10,000 per statement.
    const { chain, rollup, sources } = await seed((rows) => {
      const table = rows.map(valuesOf);
      return client.query(statement, columns.map((_column, index) => table.map((values) => values.at(index))));
    });
    await client.query('update audit_chain set anchor_seq = $1, anchor_hash = $2, anchor_at = $3, head_seq = $4, head_hash = $5, legacy_sealed = $6, state_mac = $7 where id = 1', [chain.anchor_seq, chain.anchor_hash, chain.anchor_at, chain.head_seq, chain.head_hash, chain.legacy_sealed, chain.state_mac]);
    await writeRollups(db, rollup, sources);
    await client.query('analyze');
    await client.end();
    console.log(`PostgreSQL: seeded in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const result = await measure('PostgreSQL', db);
    await db.destroy();
    return result;
  } finally {
    const cleanup = new pg.Client({ connectionString: adminUrl });
    await cleanup.connect();
    await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await cleanup.end();
  }
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(`Machine: ${cpu.trim()}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node.js ${process.version}, ${os.type()} ${os.release()}`);
await benchSqlite();
state = 42;
if (process.env.PORTCULLIS_TEST_DATABASE_URL !== undefined) await benchPostgres(process.env.PORTCULLIS_TEST_DATABASE_URL);
