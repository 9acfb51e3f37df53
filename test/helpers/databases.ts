// test/helpers/databases.ts
// Each test gets a database of its own: a SQLite file in a temporary folder by default, or, when
// PORTCULLIS_TEST_DATABASE_URL names a PostgreSQL server (CI's second pass), a freshly created
// PostgreSQL database on it that is dropped afterwards. The same tests run on both.

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { DatabaseConfig } from '../../src/config/config.js';
import { migrateToLatest, openDatabase, type Db } from '../../src/storage/database.js';
import { startPostgresServer } from './services.js';

/** The PostgreSQL server tests use when set, as an admin URL (for example postgres://postgres@127.0.0.1:55432/postgres). */
export const postgresAdminUrl = process.env.PORTCULLIS_TEST_DATABASE_URL;

export interface TestDatabase {
  /** The value for PORTCULLIS_DATABASE_URL, or undefined for the default SQLite in DATA_DIR. */
  readonly url: string | undefined;
  readonly config: DatabaseConfig;
  drop(): Promise<void>;
}

async function adminQuery(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresAdminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A new, empty database. For SQLite, `folder` is where the file goes. */
export async function createTestDatabase(folder: string): Promise<TestDatabase> {
  if (postgresAdminUrl === undefined) {
    const filename = path.join(folder, 'portcullis.db');
    return { url: undefined, config: { kind: 'sqlite', filename }, drop: () => Promise.resolve() };
  }
  // The name is ours and made of hex digits only, so it is safe to place in the statement.
  const name = `portcullis_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    config: { kind: 'postgres', url: url.toString(), poolSize: 5, preparedStatements: true },
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** An open, migrated database and a way to close and remove it, for tests below the HTTP layer. */
export async function openTestDb(): Promise<{ db: Db; folder: string; database: TestDatabase; close(): Promise<void> }> {
  const folder = await mkdtemp(path.join(tmpdir(), 'portcullis-db-'));
  const database = await createTestDatabase(folder);
  const db = openDatabase(database.config);
  await migrateToLatest(db);
  return {
    db,
    folder,
    database,
    async close() {
      await db.destroy();
      await database.drop();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh, empty PostgreSQL database whatever the pass: on the suite's server when it has one, else
 * on a server started for it. For what only PostgreSQL does (named statements, batched reads).
 */
export async function createPostgresTestDatabase(): Promise<{ url: string; remove(): Promise<void> }> {
  if (postgresAdminUrl !== undefined) {
    const folder = await mkdtemp(path.join(tmpdir(), 'portcullis-pg-db-'));
    const database = await createTestDatabase(folder);
    return {
      url: database.url ?? '',
      async remove() {
        await database.drop();
        await rm(folder, { recursive: true, force: true });
      },
    };
  }
  const server = await startPostgresServer();
  return { url: server.url, remove: () => server.destroy() };
}
