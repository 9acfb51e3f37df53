// test/storage/postgres-named-statements.test.ts
// The prepared queries run as named statements on PostgreSQL (src/storage/postgres-named-statements.ts):
// named outside a transaction and only there, every other statement unnamed, nothing named with the
// setting off, and a named statement the server can no longer run as prepared (a migration changed
// its table's columns; the name is gone from the connection) answered anyway, by the same call,
// with the new columns. A real PostgreSQL: the suite's when it has one, else one started here.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { openDatabase } from '../../src/storage/database.js';
import { preparedQuery } from '../../src/storage/prepared-query.js';
import { createPostgresTestDatabase } from '../helpers/databases.js';

interface Things {
  things: { id: string; label: string; extra?: string | null };
}

// Test-only query texts (a `select *` is what a migration can change under a cached plan).
const thingById = preparedQuery(1, (db: Kysely<Things>, id) => db.selectFrom('things').selectAll().where('id', '=', id));
const labelById = preparedQuery(1, (db: Kysely<Things>, id) => db.selectFrom('things').select('label').where('id', '=', id));

describe('named statements on PostgreSQL', () => {
  let database: { url: string; remove(): Promise<void> };
  const opened: Kysely<Things>[] = [];

  /** One connection, so what pg_prepared_statements shows is that connection's. */
  const open = (preparedStatements: boolean): Kysely<Things> => {
    const db = openDatabase({ kind: 'postgres', url: database.url, poolSize: 1, preparedStatements }) as unknown as Kysely<Things>;
    opened.push(db);
    return db;
  };
  const namedOn = async (db: Kysely<Things>): Promise<{ name: string; statement: string }[]> =>
    (await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements order by prepare_time`.execute(db)).rows;

  before(async () => {
    database = await createPostgresTestDatabase();
    const db = open(false);
    await sql`create table things (id text primary key, label text not null)`.execute(db);
    await db.insertInto('things').values([{ id: 'a', label: 'first' }, { id: 'b', label: 'second' }]).execute();
  });
  after(async () => {
    for (const db of opened) await db.destroy();
    await database.remove();
  });

  it('runs a prepared query as a named statement, and every other statement unnamed', async () => {
    const db = open(true);
    assert.deepEqual(await labelById(db, 'a'), [{ label: 'first' }]);
    assert.deepEqual(await labelById(db, 'b'), [{ label: 'second' }], 'the second call binds its own value');
    await db.selectFrom('things').select('id').where('label', '=', 'first').execute();
    const named = await namedOn(db);
    assert.equal(named.length, 1, `only the prepared query is named: ${JSON.stringify(named)}`);
    assert.match(named[0]?.name ?? '', /^portcullis_[0-9a-f]{24}$/);
    assert.match(named[0]?.statement ?? '', /select "label" from "things" where "id" = \$1/);
  });

  it('leaves statements inside a transaction unnamed', async () => {
    const db = open(true);
    const rows = await db.transaction().execute(async (trx) => labelById(trx, 'a'));
    assert.deepEqual(rows, [{ label: 'first' }]);
    assert.deepEqual(await namedOn(db), []);
  });

  it('names nothing with PORTCULLIS_DATABASE_PREPARED_STATEMENTS off', async () => {
    const db = open(false);
    assert.deepEqual(await labelById(db, 'a'), [{ label: 'first' }]);
    assert.deepEqual(await namedOn(db), []);
  });

  it('answers a call whose cached plan a migration made stale, with the new columns, and names it afresh', async () => {
    const db = open(true);
    assert.deepEqual(await thingById(db, 'a'), [{ id: 'a', label: 'first' }]);
    // Another instance migrates while this one runs: "cached plan must not change result type".
    const migrator = open(false);
    await sql`alter table things add column extra text`.execute(migrator);
    await migrator.updateTable('things').set({ extra: 'new' }).where('id', '=', 'a').execute();
    assert.deepEqual(await thingById(db, 'a'), [{ id: 'a', label: 'first', extra: 'new' }]);
    assert.deepEqual(await thingById(db, 'a'), [{ id: 'a', label: 'first', extra: 'new' }], 'and the call after it');
    const names = (await namedOn(db)).map(({ name }) => name);
    assert.equal(names.length, 2, `the stale name and a fresh one: ${names.join(', ')}`);
    assert.match(names[1] ?? '', /^portcullis_[0-9a-f]{24}_1$/);
  });

  it('answers a call whose name the connection lost (DISCARD ALL, a pooler), and names it afresh', async () => {
    const db = open(true);
    assert.deepEqual(await labelById(db, 'b'), [{ label: 'second' }]);
    await sql`deallocate all`.execute(db);
    assert.deepEqual(await labelById(db, 'b'), [{ label: 'second' }]);
    assert.deepEqual(await labelById(db, 'a'), [{ label: 'first' }]);
    assert.equal((await namedOn(db)).length, 1, 'prepared again under the fresh name');
  });

  it('still fails a call that cannot run at all, without retrying it into success', async () => {
    const db = open(true);
    const thing = preparedQuery(1, (handle: Kysely<Things>, id) => handle.selectFrom('things').select('label').where('label', '=', id));
    assert.deepEqual(await thing(db, 'first'), [{ label: 'first' }]);
    await sql`alter table things rename column label to title`.execute(open(false));
    await assert.rejects(thing(db, 'first'), (error: unknown) => error instanceof Error && 'code' in error && error.code === '42703');
    await sql`alter table things rename column title to label`.execute(open(false));
    assert.deepEqual(await thing(db, 'first'), [{ label: 'first' }], 'and works again once the column is back');
  });
});
