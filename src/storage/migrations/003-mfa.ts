// src/storage/migrations/003-mfa.ts
// Multi-factor authentication (issue 4): TOTP seeds (sealed with AES-256-GCM, never in the clear),
// recovery codes (keyed hashes only), passkeys (public keys and signature counters), single-use
// WebAuthn challenges and the log of wrong second-factor codes that limits guessing.
// Portable DDL only: the same file runs on SQLite and PostgreSQL; times are bigint milliseconds.

import { sql, type Kysely, type Migration } from 'kysely';

export const createMfa: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('mfa_totp')
      .addColumn('user_id', 'varchar(36)', (column) => column.primaryKey().references('users.id').onDelete('cascade'))
      // "v1.<iv>.<ciphertext>.<tag>" from security/encryption.ts, bound to the user by its associated data.
      .addColumn('sealed_secret', 'varchar(255)', (column) => column.notNull())
      // Null while enrolment waits for the first valid code: the seed does nothing until then.
      .addColumn('confirmed_at', 'bigint')
      // The last 30-second step accepted: a code for it or any earlier step is refused (single use).
      .addColumn('last_used_step', 'bigint')
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .execute();

    await db.schema
      .createTable('recovery_codes')
      .addColumn('id', 'varchar(36)', (column) => column.primaryKey())
      .addColumn('user_id', 'varchar(36)', (column) => column.notNull().references('users.id').onDelete('cascade'))
      // HMAC-SHA-256 (hex) under a key derived from the master key: useless without the server's key.
      .addColumn('code_hash', 'varchar(64)', (column) => column.notNull())
      .addColumn('used_at', 'bigint')
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .execute();
    await db.schema.createIndex('recovery_codes_user_code').on('recovery_codes').columns(['user_id', 'code_hash']).unique().execute();

    await db.schema
      .createTable('passkeys')
      .addColumn('id', 'varchar(36)', (column) => column.primaryKey())
      .addColumn('user_id', 'varchar(36)', (column) => column.notNull().references('users.id').onDelete('cascade'))
      // base64url of the credential id (at most 1023 bytes, so at most 1364 characters).
      .addColumn('credential_id', 'varchar(1400)', (column) => column.notNull().unique())
      // base64url of the COSE public key: public by nature, nothing to seal.
      .addColumn('public_key', 'text', (column) => column.notNull())
      .addColumn('counter', 'bigint', (column) => column.notNull())
      .addColumn('transports', 'varchar(200)')
      .addColumn('name', 'varchar(400)', (column) => column.notNull())
      .addColumn('device_type', 'varchar(32)', (column) => column.notNull())
      // 0 or 1: an integer reads back the same on both engines.
      .addColumn('backed_up', 'integer', (column) => column.notNull())
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addColumn('last_used_at', 'bigint')
      .execute();
    await db.schema.createIndex('passkeys_user_id').on('passkeys').column('user_id').execute();

    await db.schema
      .createTable('webauthn_challenges')
      // base64url of 32 random bytes; spent by one DELETE, so each challenge answers once.
      .addColumn('challenge', 'varchar(128)', (column) => column.primaryKey())
      // SHA-256 of the session id that asked for it: a challenge works only in its own session.
      .addColumn('session_key', 'varchar(64)', (column) => column.notNull())
      .addColumn('purpose', 'varchar(16)', (column) => column.notNull().check(sql`${sql.ref('purpose')} in (${sql.join(['register', 'second_factor', 'sign_in'].map((value) => sql.lit(value)))})`))
      .addColumn('user_id', 'varchar(36)', (column) => column.references('users.id').onDelete('cascade'))
      .addColumn('expires_at', 'bigint', (column) => column.notNull())
      .execute();
    await db.schema.createIndex('webauthn_challenges_session').on('webauthn_challenges').columns(['session_key', 'purpose']).execute();
    await db.schema.createIndex('webauthn_challenges_expires_at').on('webauthn_challenges').column('expires_at').execute();

    await db.schema
      .createTable('mfa_failures')
      .addColumn('id', 'varchar(36)', (column) => column.primaryKey())
      .addColumn('user_id', 'varchar(36)', (column) => column.notNull().references('users.id').onDelete('cascade'))
      .addColumn('at', 'bigint', (column) => column.notNull())
      .execute();
    await db.schema.createIndex('mfa_failures_user_at').on('mfa_failures').columns(['user_id', 'at']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('mfa_failures').execute();
    await db.schema.dropTable('webauthn_challenges').execute();
    await db.schema.dropTable('passkeys').execute();
    await db.schema.dropTable('recovery_codes').execute();
    await db.schema.dropTable('mfa_totp').execute();
  },
};
