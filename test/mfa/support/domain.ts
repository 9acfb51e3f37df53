// test/mfa/support/domain.ts
// The MFA domain over real SQLite with a clock the test sets to the millisecond (TOTP steps,
// the five-minute window), a mailer that records what was sent, and a verified user to work on.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/config.js';
import { createLogger } from '../../../src/observability/logger.js';
import { migrateToLatest, openDatabase, type Db } from '../../../src/storage/database.js';
import { setUpAccounts } from '../../../src/accounts/setup.js';
import type { MfaService } from '../../../src/accounts/mfa/service.js';
import type { AccountService, PublicUser } from '../../../src/accounts/types.js';
import { meta, RecordingMailer, strongPassword } from '../../accounts/harness.js';

export { meta, strongPassword };

export interface MfaHarness {
  readonly dir: string;
  readonly config: Config;
  readonly db: Db;
  readonly accounts: AccountService;
  readonly mfa: MfaService;
  readonly mail: RecordingMailer;
  /** The service's clock, epoch ms; tests set it. */
  now: number;
  user(email: string, role?: 'user' | 'admin'): Promise<PublicUser>;
  close(): Promise<void>;
}

export async function createMfaHarness(env: Record<string, string> = {}): Promise<MfaHarness> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-mfa-'));
  const { config } = await loadConfig({
    env: { NODE_ENV: 'test', PORTCULLIS_DATA_DIR: dir, PORTCULLIS_BCRYPT_COST: '10', PORTCULLIS_SECRET: 'm'.repeat(48), ...env },
    cwd: dir,
    euid: 1000,
  });
  const logger = createLogger({ level: 'silent', pretty: false, destination: new Writable({ write: (_chunk, _encoding, callback) => { callback(); } }) });
  const db = openDatabase(config.database);
  await migrateToLatest(db);
  const mail = new RecordingMailer();
  const harness: MfaHarness = {
    dir,
    config,
    db,
    mail,
    now: Date.parse('2026-11-29T10:00:10Z'),
    accounts: undefined as unknown as AccountService,
    mfa: undefined as unknown as MfaService,
    async user(email, role = 'user') {
      await harness.accounts.signUp({ email, password: strongPassword }, meta);
      const user = await harness.accounts.verifyEmail(mail.tokenFor(email, '/verify-email'), meta);
      if (role === 'admin') await db.updateTable('users').set({ role: 'admin' }).where('id', '=', user.id).execute();
      return { ...user, role };
    },
    async close() {
      await setup.close();
      await db.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
  const setup = setUpAccounts({ db, config, logger, mailer: mail, now: () => harness.now });
  Object.assign(harness, { accounts: setup.service, mfa: setup.mfa });
  return harness;
}

/** Lets background deliveries (fire-and-forget) reach the recording mailer. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
