// src/cli/migrate.ts
// `portcullis migrate`: bring the database schema up to date and exit.

import { prepareEnvironment } from './environment.js';

export const migrateHelp = `Usage: portcullis migrate

Applies every pending database migration, then exits. The server also migrates at start;
run this on its own to migrate before rolling out new instances.

Reads the same PORTCULLIS_* settings as serve (PORTCULLIS_DATABASE_URL, PORTCULLIS_DATA_DIR).`;

export async function runMigrate(): Promise<number> {
  const { config } = await prepareEnvironment();
  // Loaded only now, so --help and configuration refusals do not load the database driver.
  const { migrateToLatest, openDatabase } = await import('../storage/database.js');
  const db = openDatabase(config.database);
  try {
    const { applied } = await migrateToLatest(db);
    process.stdout.write(applied.length === 0 ? 'The database is up to date.\n' : `Applied: ${applied.join(', ')}\n`);
    return 0;
  } finally {
    await db.destroy();
  }
}
