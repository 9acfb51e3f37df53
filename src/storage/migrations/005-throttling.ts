// src/storage/migrations/005-throttling.ts
// Rate-limit counters and per-account sign-in throttling (issue 5), for deployments without Redis.
// Portable DDL only: the same file runs on SQLite and PostgreSQL.

import type { Kysely, Migration } from 'kysely';

export const createThrottling: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('rate_limit_counters')
      // "<limiter>:<client key>"; client keys are addresses or SHA-256 digests, never an email.
      .addColumn('key', 'varchar(255)', (column) => column.primaryKey())
      .addColumn('hits', 'integer', (column) => column.notNull())
      .addColumn('reset_at', 'bigint', (column) => column.notNull())
      .execute();
    await db.schema.createIndex('rate_limit_counters_reset_at').on('rate_limit_counters').column('reset_at').execute();

    await db.schema
      .createTable('sign_in_throttle')
      .addColumn('account_key', 'varchar(64)', (column) => column.primaryKey())
      .addColumn('failures', 'integer', (column) => column.notNull())
      .addColumn('untrusted_failures', 'integer', (column) => column.notNull())
      .addColumn('locked_until', 'bigint', (column) => column.notNull())
      .addColumn('episode_id', 'varchar(32)')
      .addColumn('unlock_token_hash', 'varchar(64)', (column) => column.unique())
      .addColumn('unlock_expires_at', 'bigint')
      .addColumn('updated_at', 'bigint', (column) => column.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('sign_in_throttle').execute();
    await db.schema.dropTable('rate_limit_counters').execute();
  },
};
