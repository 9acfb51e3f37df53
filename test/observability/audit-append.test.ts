// test/observability/audit-append.test.ts
// On PostgreSQL an audited event outside a caller's transaction is appended to the hash chain in
// one statement, from the head this process last wrote (src/observability/audit-append.ts). What
// must hold: one statement per event once the head is known, and one for all the events that
// arrived while it was out; the dashboard's counts written with them; another instance appending or pruning meanwhile makes the stale append write nothing, and it
// is retried from the fresh head (never a fork, never a gap); a statement that fails leaves nothing
// half-written and the next append goes on; values are bound, never spliced into the SQL. Every
// check ends with the chain verified. Statements are counted with Kysely's query log.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { createAuditTrail, type AuditTrail } from '../../src/accounts/audit.js';
import type { NewAuditEvent } from '../../src/accounts/types.js';
import { pruneAuditTrail, verifyAuditChain } from '../../src/observability/audit-chain.js';
import { createLogger } from '../../src/observability/logger.js';
import { hourOf } from '../../src/observability/security-signals.js';
import { migrateToLatest, postgresTypes } from '../../src/storage/database.js';
import { namingPreparedStatements } from '../../src/storage/postgres-named-statements.js';
import type { Database } from '../../src/storage/schema.js';
import { createPostgresTestDatabase } from '../helpers/databases.js';

const silent = createLogger({ level: 'silent', pretty: false });

/** One server instance: its own pool, its own trail, its statements counted (BEGIN and COMMIT too). */
interface Instance {
  readonly db: Kysely<Database>;
  readonly trail: AuditTrail;
  readonly statements: string[];
}

function failedSignIn(index: number, ip = '198.51.100.7'): NewAuditEvent {
  return { type: 'sign_in', outcome: 'failure', actorId: null, subjectId: null, ip, userAgent: 'test-agent/1.0', detail: { reason: 'wrong_password', attempt: index } };
}

describe('appending to the audit chain on PostgreSQL, one statement an event', () => {
  let database: { url: string; remove(): Promise<void> };
  const key = randomBytes(32);
  const clock = { now: Date.UTC(2026, 5, 1, 10) };
  const instances: Instance[] = [];
  let first: Instance;
  let second: Instance;

  const instance = (): Instance => {
    const statements: string[] = [];
    // As the server opens it: int8 read as numbers, prepared queries run as named statements, and a
    // connection closed by the server (the database dropped at the end) is no crash.
    const pool = new pg.Pool({ connectionString: database.url, max: 4, types: postgresTypes });
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: namingPreparedStatements(pool) }),
      log: (event) => {
        statements.push(event.query.sql.replace(/\s+/g, ' ').trim());
      },
    });
    const created = { db, trail: createAuditTrail(db, silent, () => clock.now, key), statements };
    instances.push(created);
    return created;
  };

  const rows = (db: Kysely<Database>) => db.selectFrom('audit_events').select(['seq', 'detail', 'user_agent', 'ip']).orderBy('seq').execute();

  async function assertChainIntact(db: Kysely<Database>): Promise<void> {
    const report = await verifyAuditChain(db, key);
    assert.deepEqual(report.problems, []);
    const seqs = (await rows(db)).map((row) => row.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, index) => report.anchorSeq + index + 1),
      'every place taken once, none skipped',
    );
  }

  before(async () => {
    database = await createPostgresTestDatabase();
    const setup = instance();
    await migrateToLatest(setup.db);
    first = instance();
    second = instance();
  });
  beforeEach(() => {
    clock.now += 60_000;
  });
  after(async () => {
    for (const each of instances) await each.db.destroy();
    await database.remove();
  });

  it('writes an event, its hourly counts and the new head in one statement once the head is known', async () => {
    // The first append of a new chain goes the general way (it seals the chain and writes its first MAC).
    await first.trail.record(failedSignIn(0));
    const before = first.statements.length;
    for (let index = 1; index <= 5; index += 1) await first.trail.record(failedSignIn(index));
    const used = first.statements.slice(before);
    assert.equal(used.length, 5, `one statement an event, got:\n${used.join('\n')}`);
    assert.ok(used.every((text) => /^with advanced as \( ?update audit_chain/.test(text)), 'each the one-statement append');
    await assertChainIntact(first.db);

    const hour = hourOf(clock.now);
    const counted = await first.db.selectFrom('security_rollup').select('events').where('hour', '=', hour).where('metric', '=', 'sign_in').where('label', '=', 'failure').executeTakeFirstOrThrow();
    assert.equal(counted.events, 6, 'every failure counted for the dashboard');
    const sources = await first.db.selectFrom('failure_sources').select('failures').where('hour', '=', hour).where('network', '=', '198.51.100.0/24').executeTakeFirstOrThrow();
    assert.equal(sources.failures, 6, 'and its network');
  });

  it('writes the events that arrive while a statement is out together, in the next one (group commit)', async () => {
    await first.trail.record(failedSignIn(50));
    const hourStart = Math.ceil(clock.now / 3_600_000) * 3_600_000;
    const before = first.statements.length;
    // A burst of 30 failures, half of them in the next hour: the counts land in each event's own hour.
    const burst = Array.from({ length: 30 }, (_, index) => {
      clock.now = hourStart - 15_000 + index * 1_000;
      return first.trail.record(failedSignIn(200 + index, index % 2 === 0 ? '198.51.100.7' : '203.0.113.9'));
    });
    await Promise.all(burst);
    const used = first.statements.slice(before);
    assert.equal(used.length, 2, `the first event alone, the 29 that waited in one statement:\n${used.join('\n')}`);
    await assertChainIntact(first.db);
    const attempts = (await rows(first.db)).map((row) => (JSON.parse(row.detail ?? '{}') as { attempt?: number }).attempt).filter((attempt) => attempt !== undefined && attempt >= 200);
    assert.deepEqual(attempts, Array.from({ length: 30 }, (_, index) => 200 + index), 'in the order they were recorded');

    const countIn = async (hour: number) =>
      (await first.db.selectFrom('security_rollup').select('events').where('hour', '=', hour).where('metric', '=', 'sign_in').where('label', '=', 'failure').executeTakeFirst())?.events ?? 0;
    assert.equal(await countIn(hourStart), 15, 'the next hour counts its 15');
    const sources = await first.db.selectFrom('failure_sources').select(['network', 'failures']).where('hour', '=', hourStart).orderBy('network').execute();
    assert.deepEqual(sources, [
      { network: '198.51.100.0/24', failures: 7 },
      { network: '203.0.113.0/24', failures: 8 },
    ]);
  });

  it("still takes the chain's lock inside a caller's transaction, and forgets the head when that transaction rolls back", async () => {
    await first.trail.record(failedSignIn(10));
    const countBefore = (await rows(first.db)).length;
    await assert.rejects(
      first.db.transaction().execute(async (trx) => {
        await first.trail.record(failedSignIn(11), trx);
        throw new Error('the caller changes its mind');
      }),
      /changes its mind/,
    );
    assert.equal((await rows(first.db)).length, countBefore, 'the rolled-back event is gone');
    await first.trail.record(failedSignIn(12));
    await assertChainIntact(first.db);
  });

  it('retries from the fresh head when another instance appended meanwhile: no fork, no gap, nothing lost', async () => {
    await first.trail.record(failedSignIn(20));
    await second.trail.record(failedSignIn(21));
    // The first instance's head is stale now: its statement writes nothing, it reads the head and writes again.
    const before = first.statements.length;
    await first.trail.record(failedSignIn(22));
    const used = first.statements.slice(before);
    assert.equal(used.length, 3, `missed, read the head, appended:\n${used.join('\n')}`);
    // Interleaved, many times, concurrently.
    await Promise.all(Array.from({ length: 40 }, (_, index) => (index % 2 === 0 ? first : second).trail.record(failedSignIn(100 + index))));
    const details = (await rows(first.db)).map((row) => JSON.parse(row.detail ?? '{}') as { attempt?: number }).map((detail) => detail.attempt);
    for (const attempt of [20, 21, 22, ...Array.from({ length: 40 }, (_, index) => 100 + index)]) {
      assert.equal(details.filter((value) => value === attempt).length, 1, `event ${attempt} written exactly once`);
    }
    await assertChainIntact(first.db);
  });

  it('appends after the anchor moved under it (retention pruning by another instance)', async () => {
    await first.trail.record(failedSignIn(30));
    clock.now += 3_600_000;
    const pruned = await pruneAuditTrail(second.db, key, clock.now - 1);
    assert.ok(pruned.removed > 0);
    await first.trail.record(failedSignIn(31));
    await assertChainIntact(first.db);
    const report = await verifyAuditChain(first.db, key);
    assert.equal(report.anchorSeq, pruned.anchorSeq, 'the anchor the pruning set is kept');
  });

  it('leaves nothing half-written when the statement fails, and the next append goes on', async () => {
    await first.trail.record(failedSignIn(40));
    const head = await first.db.selectFrom('audit_chain').selectAll().executeTakeFirstOrThrow();
    const hour = hourOf(clock.now);
    const countsBefore = await first.db.selectFrom('security_rollup').select('events').where('hour', '=', hour).where('metric', '=', 'sign_in').where('label', '=', 'failure').executeTakeFirstOrThrow();
    // Someone takes the next place behind the application's back: the append's insert collides with it.
    await first.db
      .insertInto('audit_events')
      .values({ id: '55555555-5555-4555-8555-555555555555', at: clock.now, type: 'forged', outcome: 'success', actor_id: null, subject_id: null, ip: null, user_agent: null, detail: null, seq: head.head_seq + 1, hash: 'f'.repeat(64), personal_salt: null, personal_commitment: null })
      .execute();
    // Every event waiting fails with the statement, at once; none is written.
    const outcomes = await Promise.allSettled([41, 43, 44, 45].map((attempt) => first.trail.record(failedSignIn(attempt))));
    assert.deepEqual(
      outcomes.map((outcome) => outcome.status),
      ['rejected', 'rejected', 'rejected', 'rejected'],
    );
    assert.match(String((outcomes[0] as PromiseRejectedResult).reason), /duplicate key|unique/i);
    const headAfter = await first.db.selectFrom('audit_chain').selectAll().executeTakeFirstOrThrow();
    assert.deepEqual(headAfter, head, 'the head did not move');
    const countsAfter = await first.db.selectFrom('security_rollup').select('events').where('hour', '=', hour).where('metric', '=', 'sign_in').where('label', '=', 'failure').executeTakeFirstOrThrow();
    assert.equal(countsAfter.events, countsBefore.events, 'the failed event was not counted');
    assert.equal((await rows(first.db)).filter((row) => [41, 43, 44, 45].includes((JSON.parse(row.detail ?? '{}') as { attempt?: number }).attempt ?? 0)).length, 0);

    await first.db.deleteFrom('audit_events').where('type', '=', 'forged').execute();
    await first.trail.record(failedSignIn(42));
    await assertChainIntact(first.db);
  });

  it('binds hostile values as the plain text they are', async () => {
    const hostile = "'); delete from audit_events; --";
    const countBefore = (await rows(first.db)).length;
    await first.trail.record({ type: "sign_in'--", outcome: 'failure', actorId: null, subjectId: null, ip: "198.51.100.9'", userAgent: hostile, detail: { note: '$1 {a,b} "quoted" \\ NULL' } });
    const stored = (await rows(first.db)).at(-1);
    assert.ok(stored !== undefined);
    assert.equal(stored.user_agent, hostile);
    assert.equal(stored.ip, "198.51.100.9'");
    assert.deepEqual(JSON.parse(stored.detail ?? '{}'), { note: '$1 {a,b} "quoted" \\ NULL' });
    await assertChainIntact(first.db);
    // Values that mean something inside a PostgreSQL array literal (the rows travel as lists).
    await Promise.all(
      ['NULL', '{}', '"', '\\', 'a,b', ''].map((userAgent) => first.trail.record({ type: 'sign_in', outcome: 'failure', actorId: null, subjectId: null, ip: null, userAgent, detail: null })),
    );
    const agents = (await rows(first.db)).slice(-6).map((row) => row.user_agent);
    assert.deepEqual(agents, ['NULL', '{}', '"', '\\', 'a,b', '']);
    await assertChainIntact(first.db);
    const counted = await sql<{ n: string }>`select count(*) as n from audit_events`.execute(first.db);
    assert.equal(Number(counted.rows[0]?.n), countBefore + 7, 'seven rows added, nothing deleted');
  });
});
