// src/accounts/account-service.ts
// createAccountService(deps): the account domain behind one interface (docs/accounts-interface.md).
// It knows nothing of HTTP: it takes plain data and a RequestMeta, returns plain data, and throws
// AppError with a catalogue code. Each group of operations lives in its own module.

import type { Config } from '../config/config.js';
import type { Mailer } from '../email/mailer.js';
import { auditChainKey } from '../observability/audit-chain.js';
import type { Logger } from '../observability/logger.js';
import type { Db } from '../storage/database.js';
import { createUser, importUsers, listUsers, sendResetLink, setDisabled } from './administration.js';
import { createAuditTrail } from './audit.js';
import { reauthenticate, signIn } from './authentication.js';
import { createDeliver, type FlowContext } from './context.js';
import type { PasswordPolicy } from './password-policy.js';
import { changePassword, requestPasswordReset, resetPassword } from './password-flows.js';
import type { PasswordHasher } from './passwords/hasher.js';
import { deleteAccount, getUser, listActivity, recordEvent, updateProfile } from './profile.js';
import { changeEmail, resendVerification, signUp, verifyEmail } from './registration.js';
import type { AccountService } from './types.js';
import { publicUserReader } from './users.js';

export type { AccountService, AuditEvent, ImportedUser, PublicUser, RequestMeta } from './types.js';

export interface AccountServiceDeps {
  readonly db: Db;
  readonly config: Config;
  readonly mailer: Mailer;
  readonly logger: Logger;
  readonly passwords: PasswordHasher;
  readonly policy: PasswordPolicy;
  /** The clock, in epoch milliseconds; tests move it to expire tokens. */
  readonly now?: () => number;
  /**
   * Ends every session of a user wherever sessions live. Sessions in the database are deleted with
   * the account's other rows already; with Redis (PORTCULLIS_REDIS_URL) this reaches them there.
   */
  readonly revokeSessions?: (userId: string) => Promise<unknown>;
}

/** The service and the context its flows share (the CLI's extra operations use the context). */
export function createFlowContext(deps: AccountServiceDeps): FlowContext {
  const now = deps.now ?? Date.now;
  return {
    db: deps.db,
    config: deps.config,
    logger: deps.logger,
    passwords: deps.passwords,
    policy: deps.policy,
    audit: createAuditTrail(deps.db, deps.logger, now, auditChainKey(deps.config.masterKey)),
    templates: { siteName: deps.config.siteName, publicOrigin: deps.config.publicOrigin },
    now,
    readUser: publicUserReader(deps.db, deps.config.database.kind === 'postgres'),
    deliver: createDeliver(deps.mailer, deps.logger),
    revokeSessions: deps.revokeSessions ?? (() => Promise.resolve()),
  };
}

export function createAccountService(deps: AccountServiceDeps): AccountService {
  const ctx = createFlowContext(deps);
  return {
    signUp: (input, meta) => signUp(ctx, input, meta),
    verifyEmail: (token, meta) => verifyEmail(ctx, token, meta),
    resendVerification: (userId, meta) => resendVerification(ctx, userId, meta),
    signIn: (input, meta, lookedUp) => signIn(ctx, input, meta, lookedUp),
    reauthenticate: (userId, password, meta) => reauthenticate(ctx, userId, password, meta),
    getUser: (userId) => getUser(ctx, userId),
    updateProfile: (userId, input, meta) => updateProfile(ctx, userId, input, meta),
    changeEmail: (userId, newEmail, meta) => changeEmail(ctx, userId, newEmail, meta),
    changePassword: (userId, input, meta) => changePassword(ctx, userId, input, meta),
    requestPasswordReset: (email, meta) => requestPasswordReset(ctx, email, meta),
    resetPassword: (input, meta) => resetPassword(ctx, input, meta),
    deleteAccount: (userId, meta) => deleteAccount(ctx, userId, meta),
    listActivity: (userId, limit) => listActivity(ctx, userId, limit),
    recordEvent: (event) => recordEvent(ctx, event),
    listUsers: (query) => listUsers(ctx, query),
    setDisabled: (adminId, userId, disabled, meta) => setDisabled(ctx, adminId, userId, disabled, meta),
    sendResetLink: (adminId, userId, meta) => sendResetLink(ctx, adminId, userId, meta),
    createUser: (input) => createUser(ctx, input),
    importUsers: (rows) => importUsers(ctx, rows),
  };
}
