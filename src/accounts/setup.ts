// src/accounts/setup.ts
// The account service's collaborators made from the configuration, in one place, for the server
// and the CLI: the password hasher (peppered with a key derived from the master key), the
// policy (blocklist, zxcvbn in a worker, optional HIBP) and the mailer.

import type { Config } from '../config/config.js';
import { createMailer, type Mailer } from '../email/mailer.js';
import type { Logger } from '../observability/logger.js';
import { deriveKey } from '../security/keys.js';
import type { Db } from '../storage/database.js';
import { createAccountService, createFlowContext, type AccountServiceDeps } from './account-service.js';
import { createMfaService, type MfaService } from './mfa/service.js';
import { createPasswordPolicy, type PasswordPolicy } from './password-policy.js';
import { createPasswordHasher, type PasswordHasher } from './passwords/hasher.js';
import { pruneTokens } from './tokens.js';
import type { AccountService } from './types.js';

export function passwordHasherFor(config: Config): PasswordHasher {
  // The pepper never touches the database: a copy of the database alone cannot be attacked offline.
  return createPasswordHasher(config.passwords, deriveKey(config.masterKey, 'password-pepper'));
}

export interface AccountsSetup {
  readonly service: AccountService;
  readonly deps: AccountServiceDeps;
  /** Second factors: TOTP, recovery codes and passkeys (issue 4). */
  readonly mfa: MfaService;
  /** Loads the password blocklist and starts the strength worker; call once at server start. */
  preload(): Promise<void>;
  /** Deletes used and expired one-time tokens; returns how many (run it with the session pruning). */
  pruneTokens(): Promise<number>;
  /** Stops the policy's worker thread. */
  close(): Promise<void>;
}

export function setUpAccounts(options: {
  db: Db;
  config: Config;
  logger: Logger;
  mailer?: Mailer;
  passwords?: PasswordHasher;
  policy?: PasswordPolicy;
  now?: () => number;
  /** Sessions in Redis: how the domain ends them (deletion, disabling, a new role). */
  revokeSessions?: (userId: string) => Promise<unknown>;
}): AccountsSetup {
  const deps: AccountServiceDeps = {
    db: options.db,
    config: options.config,
    logger: options.logger,
    mailer: options.mailer ?? createMailer(options.config, options.logger),
    passwords: options.passwords ?? passwordHasherFor(options.config),
    policy: options.policy ?? createPasswordPolicy({ config: options.config, logger: options.logger }),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.revokeSessions === undefined ? {} : { revokeSessions: options.revokeSessions }),
  };
  const now = options.now ?? Date.now;
  return {
    service: createAccountService(deps),
    deps,
    mfa: createMfaService(createFlowContext(deps)),
    preload: () => deps.policy.preload(),
    pruneTokens: () => pruneTokens(options.db, now()),
    close: () => deps.policy.close(),
  };
}
