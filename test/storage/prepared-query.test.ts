// test/storage/prepared-query.test.ts
// preparedQuery (src/storage/prepared-query.ts): built and compiled once per database handle, the
// values bound on each call, the same rows as the query builder gives; a query whose argument does
// not come out as exactly one parameter is refused. On SQLite, and on PostgreSQL when the suite has one.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, migrateToLatest, type Db } from '../../src/storage/database.js';
import { preparedQuery } from '../../src/storage/prepared-query.js';
import { createTestDatabase } from '../helpers/databases.js';

describe('prepared queries', () => {
  let folder: string;
  let db: Db;
  let close: () => Promise<void>;
  before(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'portcullis-prepared-'));
    const database = await createTestDatabase(folder);
    db = openDatabase(database.config);
    await migrateToLatest(db);
    close = async () => {
      await db.destroy();
      await database.drop();
    };
    const now = Date.now();
    for (const [id, email] of [['u1', 'one@example.com'], ['u2', 'two@example.com']] as const) {
      await db.insertInto('users').values({ id, email, password_hash: 'x', role: 'user', created_at: now, password_changed_at: now, updated_at: now }).execute();
    }
  });
  after(async () => {
    await close();
    await rm(folder, { recursive: true, force: true });
  });

  it('builds once per handle and binds each call\'s values, giving the builder\'s rows', async () => {
    let builds = 0;
    const byId = preparedQuery(1, (handle: Db, id) => {
      builds += 1;
      return handle.selectFrom('users').select(['id', 'email']).where('id', '=', id);
    });
    assert.deepEqual(await byId(db, 'u1'), [{ id: 'u1', email: 'one@example.com' }]);
    assert.deepEqual(await byId(db, 'u2'), [{ id: 'u2', email: 'two@example.com' }]);
    assert.deepEqual(await byId(db, 'nobody'), []);
    // A hostile value is a value: bound, never SQL.
    assert.deepEqual(await byId(db, "u1' or '1'='1"), []);
    assert.equal(builds, 1);
    assert.deepEqual(await byId(db, 'u1'), await db.selectFrom('users').select(['id', 'email']).where('id', '=', 'u1').execute());
    await db.transaction().execute(async (trx) => {
      assert.deepEqual(await byId(trx as unknown as Db, 'u2'), [{ id: 'u2', email: 'two@example.com' }]);
    });
    assert.equal(builds, 2, 'a transaction is a handle of its own');
  });

  it('keeps the query\'s own constants and binds several arguments in their places', async () => {
    const byEmailAndId = preparedQuery(2, (handle: Db, email, id) => handle.selectFrom('users').select('id').where('disabled_at', 'is', null).where('email', '=', email).where('id', '!=', 'never').where('id', '=', id));
    assert.deepEqual(await byEmailAndId(db, 'two@example.com', 'u2'), [{ id: 'u2' }]);
    assert.deepEqual(await byEmailAndId(db, 'two@example.com', 'u1'), []);
  });

  it('binds numbers and an argument used in several places', async () => {
    const createdSince = preparedQuery(2, (handle: Db, since: number, id: string) => handle.selectFrom('users').select('id').where('created_at', '>=', since).where('id', '=', id).where('email', '!=', id).orderBy('id'));
    assert.deepEqual(await createdSince(db, 0, 'u1'), [{ id: 'u1' }]);
    assert.deepEqual(await createdSince(db, Date.now() + 60_000, 'u1'), [], 'the second call\'s number, not the first\'s');
  });

  it('refuses an argument that is not bound unchanged, and a wrong number of arguments', async () => {
    // A literal is written into the SQL text: that would freeze the first call's value. Refused.
    const inlined = preparedQuery(1, (handle: Db, id) => handle.selectFrom('users').select('id').where(sql<boolean>`id = ${sql.lit(id)}`));
    await assert.rejects(inlined(db, 'u1'), /argument 0 must be bound as a parameter, unchanged/);
    // A value computed from an argument while building would be the first call's too. Refused.
    const computed = preparedQuery(1, (handle: Db, at: number) => handle.selectFrom('users').select('id').where('created_at', '<', at + 1000));
    await assert.rejects(computed(db, 5), /argument 0 must be bound as a parameter, unchanged/);
    const one = preparedQuery(1, (handle: Db, id) => handle.selectFrom('users').select('id').where('id', '=', id));
    // A caller from untyped code: the count is checked at run time too.
    await assert.rejects((one as (handle: Db, ...args: string[]) => Promise<unknown>)(db), /expected 1 arguments, got 0/);
  });
});
