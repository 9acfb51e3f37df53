// src/storage/migrations/index.ts
// The ordered list of migrations. Names sort in the order they run; never rename or edit a shipped one.

import type { Migration, MigrationProvider } from 'kysely';
import { createSessions } from './001-sessions.js';
import { createAccounts } from './002-accounts.js';
import { createMfa } from './003-mfa.js';
import { createThrottling } from './005-throttling.js';
import { createMonitoring } from './006-monitoring.js';
import { createAuditFilterIndexes } from './007-audit-filter-indexes.js';

const migrations: Record<string, Migration> = {
  '001-sessions': createSessions,
  '002-accounts': createAccounts,
  '003-mfa': createMfa,
  '005-throttling': createThrottling,
  '006-monitoring': createMonitoring,
  '007-audit-filter-indexes': createAuditFilterIndexes,
};

/** Migrations compiled into the bundle, so nothing is read from disk at run time. */
export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
