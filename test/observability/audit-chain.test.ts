// test/observability/audit-chain.test.ts
// The audit trail is append-only and tamper-evident: someone with write access to the database
// (a stolen password, an injection elsewhere) edits, deletes or inserts a row to hide what they
// did. Each kind of tampering must be detected and the first broken row named; legitimate changes
// (anonymisation after an account deletion, retention pruning) must keep the chain verifiable;
// two writers must never fork it. Runs on SQLite, and on PostgreSQL when CI provides one.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setUpAccounts } from '../../src/accounts/setup.js';
import { createAuditTrail, type AuditTrail } from '../../src/accounts/audit.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/config.js';
import { auditChainKey, pruneAuditTrail, rowHash, sealLegacyAuditRows, verifyAuditChain, genesisHash, type ChainReport } from '../../src/observability/audit-chain.js';
import { createLogger } from '../../src/observability/logger.js';
import type { Db } from '../../src/storage/database.js';
import { repoRoot } from '../helpers/cli.js';
import { openTestDb, type TestDatabase } from '../helpers/databases.js';

const silent = createLogger({
  level: 'silent',
  pretty: false,
  destination: new Writable({
    write: (_chunk, _encoding, done) => {
      done();
    },
  }),
});
const secret = 'audit-chain-test-master-key-0123456789-abcdefghij';

interface Fixture {
  db: Db;
  database: TestDatabase;
  folder: string;
  config: Config;
  key: Buffer;
  trail: AuditTrail;
  clock: { now: number };
  close(): Promise<void>;
}

async function fixture(): Promise<Fixture> {
  const opened = await openTestDb();
  const { config } = await loadConfig({ env: { NODE_ENV: 'test', PORTCULLIS_DATA_DIR: opened.folder, PORTCULLIS_SECRET: secret, PORTCULLIS_BCRYPT_COST: '10', ...(opened.database.url === undefined ? {} : { PORTCULLIS_DATABASE_URL: opened.database.url }) }, cwd: opened.folder, euid: 1000 });
  const key = auditChainKey(config.masterKey);
  const clock = { now: Date.UTC(2026, 0, 10, 12) };
  return { ...opened, config, key, clock, trail: createAuditTrail(opened.db, silent, () => clock.now, key) };
}

/** n events, one second apart, alternating types and outcomes, from a few addresses. */
async function record(f: Fixture, count: number): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    f.clock.now += 1000;
    await f.trail.record({
      type: index % 3 === 0 ? 'sign_in' : 'sign_out',
      outcome: index % 2 === 0 ? 'failure' : 'success',
      actorId: null,
      subjectId: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
      ip: `198.51.100.${index % 7}`,
      userAgent: 'test-agent/1.0',
      detail: { attempt: index },
    });
  }
}

async function rowAt(db: Db, seq: number) {
  return db.selectFrom('audit_events').selectAll().where('seq', '=', seq).executeTakeFirstOrThrow();
}

function first(report: ChainReport) {
  assert.equal(report.ok, false, 'the chain is reported broken');
  const problem = report.problems[0];
  assert.ok(problem !== undefined);
  return problem;
}

describe('the audit trail as a hash chain', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await fixture();
  });
  afterEach(async () => {
    await f.close();
  });

  it('links every event to the one before it, from a genesis hash, and verifies', async () => {
    await record(f, 20);
    const rows = await f.db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
    assert.deepEqual(
      rows.map((row) => row.seq),
      Array.from({ length: 20 }, (_, index) => index + 1),
    );
    let previous = genesisHash;
    for (const row of rows) {
      const expected = rowHash(f.key, { ...row, seq: row.seq ?? 0 }, previous);
      assert.equal(row.hash, expected);
      assert.match(row.personal_salt ?? '', /^[0-9a-f]{32}$/);
      previous = expected;
    }
    const report = await verifyAuditChain(f.db, f.key);
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
    assert.equal(report.checked, 20);
    assert.equal(report.headSeq, 20);
    assert.equal(report.headHash, previous);
    // A different key (another deployment's, or a forger's) verifies nothing.
    assert.equal((await verifyAuditChain(f.db, auditChainKey(Buffer.from('another-master-key-of-enough-length-000')))).ok, false);
  });

  it('names the row whose content was changed', async () => {
    await record(f, 20);
    const target = await rowAt(f.db, 7);
    // The attacker turns a failed sign-in into a success.
    await f.db.updateTable('audit_events').set({ outcome: target.outcome === 'failure' ? 'success' : 'failure' }).where('seq', '=', 7).execute();
    const report = await verifyAuditChain(f.db, f.key);
    const problem = first(report);
    assert.equal(problem.kind, 'changed');
    assert.equal(problem.seq, 7);
    assert.equal(problem.id, target.id);
    assert.ok(problem.message.includes(`row seq 7 (id ${target.id}`), problem.message);
    assert.equal(report.problems.length, 1, 'only the changed row is reported: its successors still link to its stored hash');
  });

  it('names the row whose address, user agent or detail was changed', async () => {
    await record(f, 10);
    const target = await rowAt(f.db, 4);
    await f.db.updateTable('audit_events').set({ ip: '192.0.2.99' }).where('seq', '=', 4).execute();
    const problem = first(await verifyAuditChain(f.db, f.key));
    assert.equal(problem.kind, 'changed');
    assert.equal(problem.id, target.id);
    assert.match(problem.message, /address, user agent or detail/);
  });

  it('names the place of a removed row and its neighbours', async () => {
    await record(f, 20);
    const before = await rowAt(f.db, 8);
    const after = await rowAt(f.db, 10);
    await f.db.deleteFrom('audit_events').where('seq', '=', 9).execute();
    const report = await verifyAuditChain(f.db, f.key);
    const problem = first(report);
    assert.equal(problem.kind, 'removed');
    assert.equal(problem.seq, 9);
    assert.match(problem.message, /row seq 9 was removed/);
    assert.ok(problem.message.includes(before.id) && problem.message.includes(after.id), 'the rows on either side are named');
    assert.equal(report.problems.length, 1);
  });

  it('notices the end of the trail cut off, even though every remaining row is intact', async () => {
    await record(f, 20);
    await f.db.deleteFrom('audit_events').where('seq', '>', 17).execute();
    const problem = first(await verifyAuditChain(f.db, f.key));
    assert.equal(problem.kind, 'removed');
    assert.equal(problem.seq, 18);
    assert.match(problem.message, /rows seq 18 to 20 were removed/);
  });

  it('names a row inserted without a place in the chain', async () => {
    await record(f, 10);
    const forged = { id: '11111111-1111-4111-8111-111111111111', at: f.clock.now - 5000, type: 'sign_in', outcome: 'success' as const, actor_id: null, subject_id: null, ip: '203.0.113.1', user_agent: null, detail: null };
    await f.db.insertInto('audit_events').values(forged).execute();
    const problem = first(await verifyAuditChain(f.db, f.key));
    assert.equal(problem.kind, 'inserted');
    assert.equal(problem.id, forged.id);
    assert.match(problem.message, /has no place in the chain/);
  });

  it('names a row inserted after the head', async () => {
    await record(f, 10);
    const last = await rowAt(f.db, 10);
    const forged = { id: '22222222-2222-4222-8222-222222222222', at: f.clock.now + 1000, type: 'sign_in', outcome: 'success' as const, actor_id: null, subject_id: null, ip: null, user_agent: null, detail: null, seq: 11, hash: 'f'.repeat(64), personal_salt: last.personal_salt, personal_commitment: last.personal_commitment };
    await f.db.insertInto('audit_events').values(forged).execute();
    const problem = first(await verifyAuditChain(f.db, f.key));
    assert.equal(problem.kind, 'inserted');
    assert.equal(problem.seq, 11);
    assert.equal(problem.id, forged.id);
    assert.match(problem.message, /after the chain's recorded head/);
  });

  it('names a row inserted in the middle with the rest renumbered to make room', async () => {
    await record(f, 12);
    const previous = await rowAt(f.db, 5);
    // Two steps, as the unique index on seq forces: move seq 6.. out of the way, then back shifted by one.
    await f.db.updateTable('audit_events').set((eb) => ({ seq: eb('seq', '*', -1) })).where('seq', '>=', 6).execute();
    await f.db.updateTable('audit_events').set((eb) => ({ seq: eb(eb('seq', '*', -1), '+', 1) })).where('seq', '<', 0).execute();
    const forged = { id: '33333333-3333-4333-8333-333333333333', at: previous.at + 1, type: 'sign_in', outcome: 'success' as const, actor_id: null, subject_id: null, ip: null, user_agent: null, detail: null, seq: 6, hash: previous.hash, personal_salt: previous.personal_salt, personal_commitment: previous.personal_commitment };
    await f.db.insertInto('audit_events').values(forged).execute();
    const report = await verifyAuditChain(f.db, f.key);
    const problem = first(report);
    assert.equal(problem.kind, 'inserted');
    assert.equal(problem.id, forged.id);
    assert.match(problem.message, /renumbered/);
    assert.deepEqual(
      report.problems.map((entry) => entry.id),
      [forged.id],
      'the renumbered rows after it are recognised, not reported as changed',
    );
  });

  it("detects the chain's anchor or head edited by hand", async () => {
    await record(f, 10);
    // Hiding a truncation: cut the last rows and move the head back to the new last row.
    const last = await rowAt(f.db, 8);
    await f.db.deleteFrom('audit_events').where('seq', '>', 8).execute();
    await f.db.updateTable('audit_chain').set({ head_seq: 8, head_hash: last.hash ?? '' }).where('id', '=', 1).execute();
    const report = await verifyAuditChain(f.db, f.key);
    assert.equal(report.ok, false);
    assert.ok(report.problems.some((problem) => problem.kind === 'state' && /edited by hand/.test(problem.message)));
  });

  it('keeps verifying after an account deletion anonymises its events, and refuses anonymisation without one', async () => {
    const accounts = setUpAccounts({ db: f.db, config: f.config, logger: silent });
    try {
      const meta = { ip: '198.51.100.23', userAgent: 'browser/1.0' };
      const leaving = await accounts.service.createUser({ email: 'leaving@example.com', password: 'violet kettle harbour 90 lamp', role: 'user', emailVerified: true });
      const staying = await accounts.service.createUser({ email: 'staying@example.com', password: 'quiet orchard ferry 47 mosaic', role: 'user', emailVerified: true });
      await accounts.service.signIn({ email: 'leaving@example.com', password: 'violet kettle harbour 90 lamp' }, meta);
      await accounts.service.signIn({ email: 'leaving@example.com', password: 'wrong password entirely 123' }, meta).catch(() => undefined);
      await accounts.service.signIn({ email: 'staying@example.com', password: 'quiet orchard ferry 47 mosaic' }, meta);
      await accounts.service.deleteAccount(leaving.id, meta);

      // Everything before the deletion; the deletion's own event never had personal data in it.
      const anonymised = await f.db.selectFrom('audit_events').selectAll().where('subject_id', '=', leaving.id).where('type', '!=', 'account_deleted').execute();
      assert.ok(anonymised.length >= 3);
      for (const row of anonymised) {
        assert.equal(row.ip, null);
        assert.equal(row.user_agent, null);
        assert.equal(row.detail, null);
        assert.equal(row.personal_salt, null, 'the salt goes too: the commitment can no longer confirm a guessed address');
        assert.match(row.personal_commitment ?? '', /^[0-9a-f]{64}$/);
      }
      assert.deepEqual((await verifyAuditChain(f.db, f.key)).problems, []);

      // The same clearing done by hand, for an account that was not deleted, hides an address.
      const target = await f.db.selectFrom('audit_events').selectAll().where('subject_id', '=', staying.id).where('type', '=', 'sign_in').executeTakeFirstOrThrow();
      await f.db.updateTable('audit_events').set({ ip: null, user_agent: null, detail: null, personal_salt: null }).where('id', '=', target.id).execute();
      const problem = first(await verifyAuditChain(f.db, f.key));
      assert.equal(problem.kind, 'changed');
      assert.equal(problem.id, target.id);
      assert.match(problem.message, /no account deletion in the trail explains it/);
    } finally {
      await accounts.close();
    }
  });

  it('prunes old events by moving the anchor, and the chain still verifies', async () => {
    await record(f, 12);
    const cutoff = f.clock.now + 1;
    f.clock.now += 86_400_000;
    await record(f, 5);
    const lastOld = await rowAt(f.db, 12);
    const outcome = await pruneAuditTrail(f.db, f.key, cutoff);
    assert.deepEqual(outcome, { removed: 12, anchorSeq: 12 });
    const state = await f.db.selectFrom('audit_chain').selectAll().executeTakeFirstOrThrow();
    assert.equal(state.anchor_hash, lastOld.hash, 'the anchor is the last pruned row');
    assert.equal(state.pruned_total, 12);
    const report = await verifyAuditChain(f.db, f.key);
    assert.deepEqual(report.problems, []);
    assert.equal(report.checked, 5);
    // Appending after pruning continues the same chain.
    await record(f, 2);
    assert.equal((await verifyAuditChain(f.db, f.key)).ok, true);
    // Pruning again with the same cutoff removes nothing.
    assert.equal((await pruneAuditTrail(f.db, f.key, cutoff)).removed, 0);
    // Deleting the oldest remaining row by hand is still a removal, not a pruning.
    await f.db.deleteFrom('audit_events').where('seq', '=', 13).execute();
    const problem = first(await verifyAuditChain(f.db, f.key));
    assert.equal(problem.kind, 'removed');
    assert.equal(problem.seq, 13);
  });

  it('serialises concurrent appends from two server processes into one chain, never a fork', async () => {
    // A second process on the same database, as a second instance of the server would be: its
    // appends interleave with this process's, and every one must find its own place.
    const child = `
      import { createAuditTrail } from ${JSON.stringify(path.join(repoRoot, 'dist/src/accounts/audit.js'))};
      import { createLogger } from ${JSON.stringify(path.join(repoRoot, 'dist/src/observability/logger.js'))};
      import { openDatabase } from ${JSON.stringify(path.join(repoRoot, 'dist/src/storage/database.js'))};
      const db = openDatabase(JSON.parse(process.env.DB_CONFIG));
      const trail = createAuditTrail(db, createLogger({ level: 'silent', pretty: false }), Date.now, Buffer.from(process.env.CHAIN_KEY, 'hex'));
      for (let index = 0; index < 30; index += 1) {
        await trail.record({ type: 'sign_in', outcome: 'failure', actorId: null, subjectId: null, ip: '198.51.100.2', userAgent: null, detail: { from: 'child', index } });
      }
      await db.destroy();`;
    const writer = spawn(process.execPath, ['--input-type=module', '-e', child], { env: { PATH: process.env.PATH ?? '', DB_CONFIG: JSON.stringify(f.database.config), CHAIN_KEY: f.key.toString('hex') }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    writer.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    let finished = false;
    const exited = new Promise<number | null>((resolve) => writer.once('close', (code) => {
      finished = true;
      resolve(code);
    }));
    // This process keeps appending until the child is done (bounded), so the two really interleave.
    let parentCount = 0;
    while (!(finished as boolean) && parentCount < 3000) {
      await f.trail.record({ type: 'sign_in', outcome: 'failure', actorId: null, subjectId: null, ip: '198.51.100.1', userAgent: null, detail: { from: 'parent', index: parentCount } });
      parentCount += 1;
    }
    assert.equal(await exited, 0, stderr);
    const rows = await f.db.selectFrom('audit_events').select(['seq', 'detail']).orderBy('seq').execute();
    assert.deepEqual(
      rows.map((row) => row.seq),
      Array.from({ length: parentCount + 30 }, (_, index) => index + 1),
    );
    const childSeqs = rows.filter((row) => row.detail?.includes('child')).map((row) => row.seq ?? 0);
    assert.equal(childSeqs.length, 30);
    const parentSeqs = rows.filter((row) => row.detail?.includes('parent')).map((row) => row.seq ?? 0);
    assert.ok(childSeqs.some((seq) => seq > Math.min(...parentSeqs) && seq < Math.max(...parentSeqs)), 'the two writers interleaved');
    assert.deepEqual((await verifyAuditChain(f.db, f.key)).problems, []);
  });

  it('seals events written before the chain existed, once; later rows without a place are insertions', async () => {
    const legacy = [0, 1, 2].map((index) => ({ id: `44444444-4444-4444-8444-00000000000${index}`, at: f.clock.now - 10_000 + index, type: 'sign_up', outcome: 'success' as const, actor_id: null, subject_id: null, ip: '192.0.2.1', user_agent: null, detail: null }));
    await f.db.insertInto('audit_events').values(legacy).execute();
    const before = await verifyAuditChain(f.db, f.key);
    assert.equal(before.unsealed, 3);
    assert.equal(await sealLegacyAuditRows(f.db, f.key), 3);
    assert.equal(await sealLegacyAuditRows(f.db, f.key), 0);
    await record(f, 2);
    const sealed = await f.db.selectFrom('audit_events').select(['id', 'seq']).orderBy('seq').execute();
    assert.deepEqual(
      sealed.slice(0, 3).map((row) => row.id),
      legacy.map((row) => row.id),
      'oldest first',
    );
    assert.deepEqual((await verifyAuditChain(f.db, f.key)).problems, []);
  });
});
