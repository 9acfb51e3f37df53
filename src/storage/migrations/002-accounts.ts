// src/storage/migrations/002-accounts.ts
// Users, one-time tokens (email verification, password reset, email change) and the audit trail.
// Portable DDL only (the PostgreSQL dialect runs the same file): text ids, bigint millisecond times.

import { sql, type Expression, type Kysely, type Migration } from 'kysely';

// Literals inlined with sql.lit: DDL cannot carry bound parameters on either engine.
function oneOf(column: string, values: readonly string[]): Expression<unknown> {
  return sql`${sql.ref(column)} in (${sql.join(values.map((value) => sql.lit(value)))})`;
}
const roleCheck = () => oneOf('role', ['user', 'admin']);
const purposeCheck = () => oneOf('purpose', ['verify_email', 'reset_password', 'change_email']);

export const createAccounts: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('users')
      // A random UUID (v4) as text: the same on every engine, and says nothing about sign-up order.
      .addColumn('id', 'varchar(36)', (column) => column.primaryKey())
      // Normalised (trim, NFKC, lower-case) before it gets here, so uniqueness is case-insensitive.
      .addColumn('email', 'varchar(254)', (column) => column.notNull().unique())
      .addColumn('display_name', 'varchar(400)')
      // Self-describing: "$pc-bcrypt-hmac$v=1$...", "$pc-argon2id$v=1$..." or an imported "$2b$...".
      .addColumn('password_hash', 'varchar(255)', (column) => column.notNull())
      .addColumn('role', 'varchar(16)', (column) => column.notNull().defaultTo('user').check(roleCheck()))
      .addColumn('email_verified_at', 'bigint')
      .addColumn('disabled_at', 'bigint')
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addColumn('password_changed_at', 'bigint', (column) => column.notNull())
      .addColumn('updated_at', 'bigint', (column) => column.notNull())
      .execute();
    await db.schema.createIndex('users_created_at').on('users').column('created_at').execute();

    await db.schema
      .createTable('one_time_tokens')
      // SHA-256 (hex) of the token: the database never holds a token that works in a link.
      .addColumn('token_hash', 'varchar(64)', (column) => column.primaryKey())
      .addColumn('purpose', 'varchar(32)', (column) => column.notNull().check(purposeCheck()))
      .addColumn('user_id', 'varchar(36)', (column) => column.notNull().references('users.id').onDelete('cascade'))
      .addColumn('new_email', 'varchar(254)')
      .addColumn('expires_at', 'bigint', (column) => column.notNull())
      .addColumn('used_at', 'bigint')
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .execute();
    // At most one unused token per account and purpose (so one live reset link): issuing a new one
    // deletes the old in the same transaction, and this index makes a concurrent second insert fail
    // instead of leaving two live links. Partial indexes exist on SQLite and PostgreSQL alike.
    await db.schema
      .createIndex('one_time_tokens_one_unused')
      .on('one_time_tokens')
      .columns(['user_id', 'purpose'])
      .unique()
      .where(sql.ref('used_at'), 'is', null)
      .execute();
    await db.schema.createIndex('one_time_tokens_expires_at').on('one_time_tokens').column('expires_at').execute();

    await db.schema
      .createTable('audit_events')
      .addColumn('id', 'varchar(36)', (column) => column.primaryKey())
      .addColumn('at', 'bigint', (column) => column.notNull())
      .addColumn('type', 'varchar(64)', (column) => column.notNull())
      .addColumn('outcome', 'varchar(16)', (column) => column.notNull())
      // No foreign keys on purpose: the trail outlives the accounts it speaks of. Deleting an account
      // strips the personal data (IP, user agent, detail) from its events instead (account-service).
      .addColumn('actor_id', 'varchar(36)')
      .addColumn('subject_id', 'varchar(36)')
      .addColumn('ip', 'varchar(45)')
      .addColumn('user_agent', 'varchar(512)')
      .addColumn('detail', 'text')
      .execute();
    await db.schema.createIndex('audit_events_subject_at').on('audit_events').columns(['subject_id', 'at']).execute();
    await db.schema.createIndex('audit_events_actor_at').on('audit_events').columns(['actor_id', 'at']).execute();
    await db.schema.createIndex('audit_events_at').on('audit_events').column('at').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('audit_events').execute();
    await db.schema.dropTable('one_time_tokens').execute();
    await db.schema.dropTable('users').execute();
  },
};
