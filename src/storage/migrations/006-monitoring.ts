// src/storage/migrations/006-monitoring.ts
// Monitoring (issue 6): the audit trail becomes a hash chain (sequence, keyed hash, a salted
// commitment to the personal fields), one row of chain state (anchor and head), hourly rollups for
// the security dashboard, and the CSP violation reports. Portable DDL only: the same file runs on
// SQLite and PostgreSQL; times are bigint milliseconds.

import type { Kysely, Migration } from 'kysely';

/** The one row this migration writes, typed for the insert below. */
interface ChainStateRow {
  id: number;
  anchor_seq: number;
  anchor_hash: string;
  anchor_at: number | null;
  head_seq: number;
  head_hash: string;
  legacy_sealed: number;
  pruned_total: number;
  state_mac: string | null;
  updated_at: number;
}

/** The previous hash of the first row ever written: 64 zeros. */
const genesisHash = '0'.repeat(64);

export const createMonitoring: Migration = {
  async up(db: Kysely<unknown>) {
    // SQLite adds one column per statement; nullable, because rows written before this migration
    // have no place in the chain until they are sealed (observability/audit-chain.ts).
    await db.schema.alterTable('audit_events').addColumn('seq', 'bigint').execute();
    await db.schema.alterTable('audit_events').addColumn('hash', 'varchar(64)').execute();
    await db.schema.alterTable('audit_events').addColumn('personal_salt', 'varchar(32)').execute();
    await db.schema.alterTable('audit_events').addColumn('personal_commitment', 'varchar(64)').execute();
    // One row per place in the chain: a second writer that read the same head fails here instead of
    // forking the chain (appends also hold the chain-state row's lock, see below).
    await db.schema.createIndex('audit_events_seq').on('audit_events').column('seq').unique().execute();
    // The dashboard's filters (type and date range, newest first) and distinct throttled accounts.
    await db.schema.createIndex('audit_events_type_at').on('audit_events').columns(['type', 'at']).execute();

    await db.schema
      .createTable('audit_chain')
      // Always 1: the single row every append locks (UPDATE first), so appends are serialised on
      // SQLite (the write lock) and on PostgreSQL (the row lock) alike.
      .addColumn('id', 'integer', (column) => column.primaryKey())
      /** The last pruned row's sequence number (0 before any pruning) and its hash. */
      .addColumn('anchor_seq', 'bigint', (column) => column.notNull())
      .addColumn('anchor_hash', 'varchar(64)', (column) => column.notNull())
      .addColumn('anchor_at', 'bigint')
      .addColumn('head_seq', 'bigint', (column) => column.notNull())
      .addColumn('head_hash', 'varchar(64)', (column) => column.notNull())
      /** 1 once the rows written before this migration were sealed into the chain. */
      .addColumn('legacy_sealed', 'integer', (column) => column.notNull())
      .addColumn('pruned_total', 'bigint', (column) => column.notNull())
      /** HMAC over anchor and head: editing them by hand (to hide a truncation) is detected. */
      .addColumn('state_mac', 'varchar(64)')
      .addColumn('updated_at', 'bigint', (column) => column.notNull())
      .execute();
    await (db as unknown as Kysely<{ audit_chain: ChainStateRow }>)
      .insertInto('audit_chain')
      .values({
        id: 1,
        anchor_seq: 0,
        anchor_hash: genesisHash,
        anchor_at: null,
        head_seq: 0,
        head_hash: genesisHash,
        legacy_sealed: 0,
        pruned_total: 0,
        state_mac: null,
        updated_at: Date.now(),
      })
      .execute();

    // Counts per hour and signal ("sign_in"/"failure", "rate_limited"/"auth", ...), maintained in
    // the same transaction as each audit append (and in batches for signals that are not audited):
    // the dashboard reads a few hundred rows instead of scanning the trail.
    await db.schema
      .createTable('security_rollup')
      .addColumn('hour', 'bigint', (column) => column.notNull())
      .addColumn('metric', 'varchar(40)', (column) => column.notNull())
      .addColumn('label', 'varchar(40)', (column) => column.notNull())
      .addColumn('events', 'bigint', (column) => column.notNull())
      .addPrimaryKeyConstraint('security_rollup_pk', ['hour', 'metric', 'label'])
      .execute();
    await db.schema.createIndex('security_rollup_metric_hour').on('security_rollup').columns(['metric', 'hour']).execute();

    // Failed authentication per hour and network (IPv4 /24, IPv6 /48): never a full address.
    await db.schema
      .createTable('failure_sources')
      .addColumn('hour', 'bigint', (column) => column.notNull())
      .addColumn('network', 'varchar(64)', (column) => column.notNull())
      .addColumn('failures', 'bigint', (column) => column.notNull())
      .addPrimaryKeyConstraint('failure_sources_pk', ['hour', 'network'])
      .execute();

    await db.schema
      .createTable('csp_reports')
      .addColumn('id', 'varchar(36)', (column) => column.primaryKey())
      .addColumn('at', 'bigint', (column) => column.notNull())
      .addColumn('directive', 'varchar(64)', (column) => column.notNull())
      .addColumn('disposition', 'varchar(16)', (column) => column.notNull())
      // Origin and path only: query strings can carry tokens.
      .addColumn('document_url', 'varchar(512)', (column) => column.notNull())
      .addColumn('blocked_url', 'varchar(512)')
      .addColumn('source_file', 'varchar(512)')
      .addColumn('line_number', 'integer')
      .addColumn('column_number', 'integer')
      .addColumn('sample', 'varchar(80)')
      .addColumn('network', 'varchar(64)')
      .execute();
    await db.schema.createIndex('csp_reports_at').on('csp_reports').column('at').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('csp_reports').execute();
    await db.schema.dropTable('failure_sources').execute();
    await db.schema.dropTable('security_rollup').execute();
    await db.schema.dropTable('audit_chain').execute();
    await db.schema.dropIndex('audit_events_type_at').execute();
    await db.schema.dropIndex('audit_events_seq').execute();
    for (const column of ['personal_commitment', 'personal_salt', 'hash', 'seq']) {
      await db.schema.alterTable('audit_events').dropColumn(column).execute();
    }
  },
};
