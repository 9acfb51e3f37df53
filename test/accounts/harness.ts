// test/accounts/harness.ts
// An account service over real SQLite in a temporary folder, for domain tests: real migrations,
// real hashing (bcrypt cost 10, the floor, instead of 12, to keep the suite fast), the real
// policy, a clock the test can move, a mailer that records what was sent, and captured logs.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/config.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import { migrateToLatest, openDatabase, type Db } from '../../src/storage/database.js';
import { setUpAccounts } from '../../src/accounts/setup.js';
import type { AccountServiceDeps } from '../../src/accounts/account-service.js';
import type { AccountService, RequestMeta } from '../../src/accounts/types.js';
import type { Mailer, MailMessage } from '../../src/email/mailer.js';

export const meta: RequestMeta = { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) test-agent' };

/** Passwords the policy accepts (long, not listed, zxcvbn 3+). */
export const strongPassword = 'violet kettle harbour 90 lamp';
export const otherStrongPassword = 'quiet orchard ferry 47 mosaic';

export class RecordingMailer implements Mailer {
  readonly sent: MailMessage[] = [];
  send(message: MailMessage): Promise<void> {
    this.sent.push(message);
    return Promise.resolve();
  }
  to(address: string): MailMessage[] {
    return this.sent.filter((message) => message.to === address);
  }
  /** The token in the newest message to `address` linking to `linkPath`. */
  tokenFor(address: string, linkPath: string): string {
    const messages = this.to(address).reverse();
    for (const message of messages) {
      // linkPath is one of the test's own literals ('/verify-email', '/reset-password').
      // eslint-disable-next-line security/detect-non-literal-regexp
      const match = new RegExp(`https?://[^\\s]+${linkPath}\\?token=([A-Za-z0-9_-]+)`).exec(message.text);
      if (match?.[1] !== undefined) return match[1];
    }
    throw new Error(`no ${linkPath} link was sent to ${address}`);
  }
}

export interface Harness {
  readonly dir: string;
  readonly config: Config;
  readonly db: Db;
  readonly service: AccountService;
  readonly deps: AccountServiceDeps;
  readonly mail: RecordingMailer;
  readonly logs: string[];
  /** Moves the service's clock forward. */
  advance(ms: number): void;
  close(): Promise<void>;
}

/** options.mailer: a Mailer, or a function making one from the harness's config and logger. */
export async function createHarness(env: Record<string, string> = {}, options: { mailer?: Mailer | ((config: Config, logger: Logger) => Mailer) } = {}): Promise<Harness> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-accounts-'));
  const { config } = await loadConfig({
    env: { NODE_ENV: 'test', PORTCULLIS_DATA_DIR: dir, PORTCULLIS_BCRYPT_COST: '10', PORTCULLIS_SECRET: 's'.repeat(48), ...env },
    cwd: dir,
    euid: 1000,
  });
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      callback();
    },
  });
  const logger = createLogger({ level: 'debug', pretty: false, destination });
  const db = openDatabase(config.database);
  await migrateToLatest(db);
  const mail = new RecordingMailer();
  let offset = 0;
  const mailer = typeof options.mailer === 'function' ? options.mailer(config, logger) : (options.mailer ?? mail);
  const accounts = setUpAccounts({ db, config, logger, mailer, now: () => Date.now() + offset });
  return {
    dir,
    config,
    db,
    service: accounts.service,
    deps: accounts.deps,
    mail,
    logs,
    advance(ms) {
      offset += ms;
    },
    async close() {
      await accounts.close();
      await db.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Signs up and verifies a user; returns its id. */
export async function createVerifiedUser(harness: Harness, email: string, password = strongPassword, displayName?: string): Promise<string> {
  await harness.service.signUp({ email, password, ...(displayName === undefined ? {} : { displayName }) }, meta);
  const user = await harness.service.verifyEmail(harness.mail.tokenFor(email, '/verify-email'), meta);
  return user.id;
}

/** Runs fn and returns the AppError code it threw (fails when it did not throw). */
export async function codeOf(fn: () => Promise<unknown>): Promise<{ code: string; fields: Readonly<Record<string, string>> | undefined; message: string }> {
  try {
    await fn();
  } catch (error) {
    const candidate = error as { code?: unknown; fields?: Readonly<Record<string, string>>; publicMessage?: unknown };
    if (typeof candidate.code === 'string') return { code: candidate.code, fields: candidate.fields, message: String(candidate.publicMessage) };
    throw error;
  }
  throw new Error('expected an AppError, but the call succeeded');
}
