// test/accounts/user-reader.test.ts
// The account read of every signed-in request (publicUserReader, src/accounts/users.ts). On
// PostgreSQL the reads asked for in one turn of the event loop are one statement, each caller gets
// its own account (or none), nothing is cached between turns (a change committed before a read is
// seen by it), a failed statement fails every read in it and the next turn reads again. On SQLite
// each read goes on its own with the same answers. Statements are counted with Kysely's query log.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { publicUserReader } from '../../src/accounts/users.js';
import { migrateToLatest } from '../../src/storage/database.js';
import type { Database } from '../../src/storage/schema.js';
import { createPostgresTestDatabase } from '../helpers/databases.js';

/** A database whose statements are counted; `statements()` is how many ran so far. */
interface CountedDb {
  readonly db: Kysely<Database>;
  statements(): number;
}

function counted(dialect: PostgresDialect | SqliteDialect): CountedDb {
  let count = 0;
  const db = new Kysely<Database>({
    dialect,
    log: () => {
      count += 1;
    },
  });
  return { db, statements: () => count };
}

async function addUsers(db: Kysely<Database>, ids: readonly string[]): Promise<void> {
  const now = Date.now();
  await db
    .insertInto('users')
    .values(ids.map((id) => ({ id, email: `${id}@example.com`, password_hash: 'x', role: 'user', display_name: `User ${id}`, created_at: now, password_changed_at: now, updated_at: now })))
    .execute();
}

describe('the account reader on PostgreSQL (batched)', () => {
  let database: { url: string; remove(): Promise<void> };
  let pool: pg.Pool;
  let subject: CountedDb;
  let read: (id: string) => Promise<Awaited<ReturnType<ReturnType<typeof publicUserReader>>>>;

  before(async () => {
    database = await createPostgresTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 4 });
    subject = counted(new PostgresDialect({ pool }));
    await migrateToLatest(subject.db);
    await addUsers(subject.db, ['u1', 'u2', 'u3']);
    read = publicUserReader(subject.db, true);
  });
  after(async () => {
    await subject.db.destroy();
    await database.remove();
  });

  it('answers the reads of one turn with one statement, each caller its own account or none', async () => {
    const before = subject.statements();
    // Some ids that would break a hand-built array literal or SQL text, read as the plain strings they are.
    const hostile = ["u1' or '1'='1", 'u1,u2', '{u1}', 'u1"', 'u1\\', 'NULL', ''];
    const ids = ['u1', 'u2', 'u1', 'nobody', 'u3', 'u2', ...hostile];
    const users = await Promise.all(ids.map((id) => read(id)));
    assert.equal(subject.statements() - before, 1, `one statement for ${ids.length} reads`);
    assert.deepEqual(
      users.map((user) => user?.id),
      ['u1', 'u2', 'u1', undefined, 'u3', 'u2', ...hostile.map(() => undefined)],
    );
    assert.equal(users[0]?.displayName, 'User u1');
    assert.notEqual(users[0], users[2], 'two reads of one account get two objects');
    assert.ok(users.every((user) => user === undefined || !('passwordHash' in user) && !('password_hash' in user)), 'no password hash');
  });

  it('reads again on every turn: a change committed before a read is seen by it', async () => {
    assert.equal((await read('u3'))?.disabled, false);
    await subject.db.updateTable('users').set({ disabled_at: Date.now() }).where('id', '=', 'u3').execute();
    assert.equal((await read('u3'))?.disabled, true, 'nothing cached between turns');
    await subject.db.updateTable('users').set({ disabled_at: null }).where('id', '=', 'u3').execute();
    assert.equal((await read('u3'))?.disabled, false);
  });

  it('keeps a batch to 100 accounts a statement', async () => {
    const before = subject.statements();
    const users = await Promise.all(Array.from({ length: 250 }, (_, index) => read(`u${(index % 3) + 1}`)));
    assert.ok(users.every((user) => user !== undefined));
    assert.equal(subject.statements() - before, 3);
  });

  it('fails every read of a failed statement, and reads again on the next turn', async () => {
    await sql`alter table users rename to users_away`.execute(subject.db);
    try {
      const outcomes = await Promise.allSettled([read('u1'), read('u2')]);
      assert.deepEqual(
        outcomes.map((outcome) => outcome.status),
        ['rejected', 'rejected'],
      );
    } finally {
      await sql`alter table users_away rename to users`.execute(subject.db);
    }
    assert.equal((await read('u1'))?.id, 'u1');
  });
});

describe('the account reader on SQLite (one read at a time)', () => {
  let folder: string;
  let subject: CountedDb;

  before(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'portcullis-reader-'));
    subject = counted(new SqliteDialect({ database: new SqliteDatabase(path.join(folder, 'reader.db')) }));
    await migrateToLatest(subject.db);
    await addUsers(subject.db, ['u1', 'u2']);
  });
  after(async () => {
    await subject.db.destroy();
    await rm(folder, { recursive: true, force: true });
  });

  it('gives the same answers, one statement a read', async () => {
    const read = publicUserReader(subject.db, false);
    const before = subject.statements();
    const users = await Promise.all(['u1', 'nobody', 'u2'].map((id) => read(id)));
    assert.deepEqual(
      users.map((user) => user?.id),
      ['u1', undefined, 'u2'],
    );
    assert.equal(subject.statements() - before, 3);
  });
});
