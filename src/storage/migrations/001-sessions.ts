// src/storage/migrations/001-sessions.ts
// The sessions table: server-side session state, looked up by the hash of the cookie's id.

import type { Kysely, Migration } from 'kysely';

export const createSessions: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('sessions')
      .addColumn('id', 'varchar(64)', (column) => column.primaryKey())
      .addColumn('user_id', 'varchar(36)')
      .addColumn('data', 'text', (column) => column.notNull())
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addColumn('last_seen_at', 'bigint', (column) => column.notNull())
      .addColumn('idle_expires_at', 'bigint', (column) => column.notNull())
      .addColumn('absolute_expires_at', 'bigint', (column) => column.notNull())
      .addColumn('ip', 'varchar(45)')
      .addColumn('user_agent', 'varchar(512)')
      .execute();
    await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute();
    await db.schema.createIndex('sessions_idle_expires_at').on('sessions').column('idle_expires_at').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('sessions').execute();
  },
};
