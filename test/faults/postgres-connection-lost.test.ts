// test/faults/postgres-connection-lost.test.ts
// Fault: PostgreSQL ends a connection while the server is using it: a failover or restart while
// a query or transaction is in flight ("terminating connection due to administrator command").
// What must hold: the work in flight fails like any database error, and the process does not
// crash (pg emits 'error' on a checked-out client, which the pool does not listen to).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { sql } from 'kysely';
import { openTestDb, postgresAdminUrl } from '../helpers/databases.js';

describe('a PostgreSQL connection ended while a transaction holds it', { skip: postgresAdminUrl === undefined && 'needs PORTCULLIS_TEST_DATABASE_URL' }, () => {
  let testDb: Awaited<ReturnType<typeof openTestDb>>;
  const uncaught: unknown[] = [];
  const record = (error: unknown) => {
    uncaught.push(error);
  };
  before(async () => {
    testDb = await openTestDb();
    process.on('uncaughtException', record);
  });
  after(async () => {
    process.off('uncaughtException', record);
    await testDb.close();
  });

  it('fails the transaction and raises nothing uncaught', async () => {
    const admin = new pg.Client({ connectionString: postgresAdminUrl });
    await admin.connect();
    try {
      const outcome = testDb.db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
        const pid = rows[0]?.pid;
        assert.ok(pid !== undefined);
        // The administrator (or a failover) ends this very connection while the transaction is open.
        await admin.query('select pg_terminate_backend($1)', [pid]);
        // Give the notice time to arrive while the client is still checked out.
        await new Promise((resolve) => setTimeout(resolve, 300));
        await sql`select 1`.execute(trx);
      });
      await assert.rejects(outcome);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(uncaught.map(String), [], 'no uncaught exception');
      // And the pool serves the next query on a new connection.
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(testDb.db);
      assert.equal(rows[0]?.one, 1);
    } finally {
      await admin.end();
    }
  });
});
