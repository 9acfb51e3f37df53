// test/observability/cli-audit.test.ts
// `portcullis audit` as an operator runs it, in its own process: verify says the trail is intact
// (and prints the head hash to keep elsewhere) or names the first broken row and exits 1; export
// writes JSON Lines since a date (to a file readable by its owner only); prune applies the
// retention setting by moving the anchor; usage mistakes exit 2.

import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createAuditTrail } from '../../src/accounts/audit.js';
import { loadConfig } from '../../src/config/load.js';
import { auditChainKey } from '../../src/observability/audit-chain.js';
import { createLogger } from '../../src/observability/logger.js';
import { migrateToLatest, openDatabase, type Db } from '../../src/storage/database.js';
import { makeWorkspace, runCli, type Workspace } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';

const silent = createLogger({
  level: 'silent',
  pretty: false,
  destination: new Writable({
    write: (_chunk, _encoding, done) => {
      done();
    },
  }),
});

describe('portcullis audit', () => {
  let space: Workspace;
  let database: TestDatabase;
  let db: Db;
  let env: Record<string, string>;
  const day = 86_400_000;
  const now = Date.now();

  before(async () => {
    space = await makeWorkspace();
    database = await createTestDatabase(space.root);
    env = {
      PORTCULLIS_DATA_DIR: space.dataDir,
      PORTCULLIS_SECRET: 'cli-audit-test-master-key-0123456789-abcdefghij',
      PORTCULLIS_DATABASE_URL: database.url ?? `sqlite:${path.join(space.root, 'audit.db')}`,
    };
    const { config } = await loadConfig({ env, cwd: space.root, euid: 1000 });
    db = openDatabase(config.database);
    await migrateToLatest(db);
    let clock = now - 40 * day;
    const trail = createAuditTrail(db, silent, () => clock, auditChainKey(config.masterKey));
    for (let index = 0; index < 15; index += 1) {
      // Ten events 40 days ago, five yesterday.
      if (index === 10) clock = now - day;
      clock += 1000;
      await trail.record({ type: index % 2 === 0 ? 'sign_in' : 'sign_out', outcome: 'success', actorId: null, subjectId: null, ip: '192.0.2.10', userAgent: 'agent/1', detail: { index } });
    }
  });

  after(async () => {
    await db.destroy();
    await database.drop();
    await space.cleanup();
  });

  const cli = (args: string[], extra: Record<string, string> = {}) => runCli(['audit', ...args], { env: { ...env, ...extra }, cwd: space.root, timeoutMs: 30_000 });

  it('verifies an intact trail and prints its head hash', async () => {
    const result = await cli(['verify']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^audit trail intact: 15 rows checked from seq 1 to 15; head hash [0-9a-f]{64}\n$/);
    const json = await cli(['verify', '--json']);
    const report = JSON.parse(json.stdout) as { ok: boolean; checked: number; problems: unknown[] };
    assert.deepEqual([report.ok, report.checked, report.problems], [true, 15, []]);
  });

  it('exports the events since a date as JSON Lines, in chain order, to a file only its owner can read', async () => {
    const since = new Date(now - 2 * day).toISOString().slice(0, 10);
    const result = await cli(['export', '--since', since]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { seq: number; type: string; at: string; detail: { index: number }; hash: string; anonymised: boolean });
    assert.deepEqual(
      lines.map((line) => line.seq),
      [11, 12, 13, 14, 15],
    );
    assert.deepEqual(
      lines.map((line) => line.detail.index),
      [10, 11, 12, 13, 14],
    );
    assert.ok(lines.every((line) => /^\d{4}-\d\d-\d\dT/.test(line.at) && /^[0-9a-f]{64}$/.test(line.hash) && !line.anonymised));

    const file = path.join(space.root, 'export.jsonl');
    const toFile = await cli(['export', '--since', '2000-01-01T00:00:00Z', '--output', file]);
    assert.equal(toFile.code, 0, toFile.stderr);
    assert.match(toFile.stderr, /15 events written to/);
    assert.equal((await readFile(file, 'utf8')).trim().split('\n').length, 15);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    // It never overwrites a file.
    assert.equal((await cli(['export', '--since', '2000-01-01', '--output', file])).code, 1);
  });

  it('refuses usage mistakes with exit code 2', async () => {
    for (const args of [['export'], ['export', '--since', 'last tuesday'], ['export', '--since', '2026-01-01T10:00'], ['frobnicate'], ['verify', '--since', '2026-01-01'], ['verify', 'extra']]) {
      const result = await cli(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
    }
    assert.equal((await cli([])).code, 2);
    assert.equal((await cli(['--help'])).code, 0);
  });

  it('names the first changed row and exits 1', async () => {
    const target = await db.selectFrom('audit_events').select(['id']).where('seq', '=', 3).executeTakeFirstOrThrow();
    await db.updateTable('audit_events').set({ type: 'sign_up' }).where('seq', '=', 3).execute();
    try {
      const result = await cli(['verify']);
      assert.equal(result.code, 1);
      assert.match(result.stdout, /^audit trail BROKEN: 1 problem\(s\); 15 rows checked\n/);
      assert.ok(result.stdout.includes(`first: [changed] row seq 3 (id ${target.id}, sign_up at `), result.stdout);
    } finally {
      await db.updateTable('audit_events').set({ type: 'sign_in' }).where('seq', '=', 3).execute();
    }
    assert.equal((await cli(['verify'])).code, 0, 'putting it back restores the chain');
  });

  it('prunes events older than the retention by moving the anchor; the chain still verifies', async () => {
    const result = await cli(['prune'], { PORTCULLIS_AUDIT_RETENTION_DAYS: '30' });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^10 events older than 30 days removed; the chain is anchored at seq 10\n$/);
    const verified = await cli(['verify']);
    assert.equal(verified.code, 0, verified.stdout);
    assert.match(verified.stdout, /5 rows checked from seq 11 to 15/);
    assert.match((await cli(['prune'], { PORTCULLIS_AUDIT_RETENTION_DAYS: 'off' })).stdout, /nothing is pruned/);
  });
});
