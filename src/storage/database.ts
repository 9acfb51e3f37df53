// src/storage/database.ts
// Opens the database behind Kysely and runs migrations. SQLite by default (WAL, foreign keys,
// busy timeout), PostgreSQL for several instances; the dialect is the only place that knows
// which engine is underneath, so every query and migration is written once.

import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type MigrationResultSet, type SqliteDatabase as SqliteDialectDatabase } from 'kysely';
import pg from 'pg';
import type { DatabaseConfig } from '../config/config.js';
import { tracedSqliteDialect } from '../observability/sqlite-tracing.js';
import { isTracingActive } from '../observability/tracing.js';
import { namingPreparedStatements } from './postgres-named-statements.js';
import type { Database } from './schema.js';
import { migrationProvider } from './migrations/index.js';

export type Db = Kysely<Database>;

/**
 * Times are bigint milliseconds; pg returns int8 as strings to be safe beyond 2^53. Our values
 * stay far below that, so this pool (and only this pool) reads them as numbers.
 */
export const postgresTypes: pg.CustomTypesConfig = {
  getTypeParser: (id, format) => {
    if (id === pg.types.builtins.INT8) return (value: string) => Number(value);
    const parser: unknown = pg.types.getTypeParser(id, format);
    return parser;
  },
};

/** How many compiled SQLite statements are kept (the application has a few dozen distinct ones). */
const statementCacheSize = 256;

/**
 * Kysely's SQLite driver calls prepare() for every query, and better-sqlite3 then parses and plans
 * the SQL again: on the hot path (a rate-limit counter on every request, the session and the user
 * on every signed-in one) that compiling cost more than running the statement (issue 8's profile).
 * Statements are kept here by their SQL text, so each is compiled once. Parameters are bound at
 * each run, never cached. A statement still being iterated (a streamed select) is busy and cannot
 * be shared, so a fresh one is prepared for that call; the oldest entry goes when the map is full
 * (SQL text that varies, like IN lists of different lengths, cannot grow it without bound).
 */
export function withStatementCache(sqlite: SqliteDatabase.Database, capacity = statementCacheSize): SqliteDialectDatabase {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => {
      statements.clear();
      sqlite.close();
    },
    prepare(text: string) {
      const cached = statements.get(text);
      if (cached !== undefined && !cached.busy) return cached;
      const statement = sqlite.prepare(text);
      if (cached === undefined) {
        if (statements.size >= capacity) statements.delete(statements.keys().next().value ?? '');
        statements.set(text, statement);
      }
      return statement;
    },
  };
}

function openSqlite(filename: string): Db {
  const sqlite = new SqliteDatabase(filename);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // With WAL, NORMAL is durable across application crashes and much faster than FULL.
  sqlite.pragma('synchronous = NORMAL');
  const dialect = new SqliteDialect({ database: withStatementCache(sqlite) });
  // better-sqlite3 has no OpenTelemetry instrumentation of its own (pg has): spans come from a wrapper.
  return new Kysely<Database>({ dialect: isTracingActive() ? tracedSqliteDialect(dialect) : dialect });
}

function openPostgres(url: string, poolSize: number, preparedStatements: boolean): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    types: postgresTypes,
    // Fail fast when the database is down instead of queueing requests behind a dead connection.
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    application_name: 'portcullis',
  });
  // A client losing its connection must not crash the process; the next query reconnects. The
  // pool listens only to idle clients: one checked out (a query or transaction in flight) when the
  // server goes away (failover, restart: "terminating connection due to administrator command")
  // emits 'error' with no listener, an uncaught exception. Its queries are rejected anyway, and
  // answered 503 (errors/unavailable.ts), so the event itself needs no handling.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparedStatements ? namingPreparedStatements(pool) : pool }) });
}

export function openDatabase(config: DatabaseConfig): Db {
  return config.kind === 'sqlite' ? openSqlite(config.filename) : openPostgres(config.url, config.poolSize, config.preparedStatements);
}

export interface MigrationOutcome {
  readonly applied: readonly string[];
}

export async function migrateToLatest(db: Db): Promise<MigrationOutcome> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results }: MigrationResultSet = await migrator.migrateToLatest();
  if (error !== undefined) throw error instanceof Error ? error : new Error('migration failed', { cause: error });
  return { applied: (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName) };
}

/** True when the database answers a trivial query; used by /readyz. */
export async function isDatabaseReachable(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
