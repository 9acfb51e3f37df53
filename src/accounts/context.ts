// src/accounts/context.ts
// What every account flow shares: the database, the clock, the audit trail, mail delivery and the
// checks that turn bad input into the right AppError. Built once by createAccountService.

import { AppError } from '../errors/app-error.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import type { Db } from '../storage/database.js';
import type { Mailer, MailMessage } from '../email/mailer.js';
import type { TemplateContext } from '../email/templates.js';
import type { AuditTrail } from './audit.js';
import { codePointCount } from './code-points.js';
import { normaliseEmail } from './email-address.js';
import { describeRefusal, type PasswordPolicy, type PolicyContext } from './password-policy.js';
import type { PasswordHasher } from './passwords/hasher.js';
import type { PublicUser, RequestMeta } from './types.js';

export interface FlowContext {
  readonly db: Db;
  readonly config: Config;
  readonly logger: Logger;
  readonly passwords: PasswordHasher;
  readonly policy: PasswordPolicy;
  readonly audit: AuditTrail;
  readonly templates: TemplateContext;
  readonly now: () => number;
  /** The account by id, fresh from the database: the read every signed-in request makes (users.ts publicUserReader). */
  readUser(userId: string): Promise<PublicUser | undefined>;
  /**
   * Sends in the background: the caller's answer (and its timing) must not depend on the mail
   * server, or on whether a message was sent at all (sign-up and reset must not tell who exists).
   * Failures are logged, never with the message body (it holds live links).
   */
  deliver(message: MailMessage, purpose: string): void;
  /** Ends a user's sessions kept outside the database (Redis); a no-op when they are in it. */
  revokeSessions(userId: string): Promise<unknown>;
}

export function createDeliver(mailer: Mailer, logger: Logger): FlowContext['deliver'] {
  return (message, purpose) => {
    mailer.send(message).catch((error: unknown) => {
      logger.error({ purpose, error: error instanceof Error ? error.message : String(error) }, 'an account email could not be sent');
    });
  };
}

/** Longest string accepted anywhere a password goes, before any work is done on it. */
const maximumPasswordInput = 4096;

export function invalid(field: string, message: string): AppError {
  return new AppError('VALIDATION_FAILED', { fields: { [field]: message } });
}

export function requireEmail(value: unknown, field = 'email'): string {
  const email = normaliseEmail(value);
  if (email === undefined) throw invalid(field, 'Enter a valid email address, like name@example.com (at most 254 characters).');
  return email;
}

/** A password field must at least be text of a sane size; the policy judges the rest. */
export function requirePasswordInput(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw invalid(field, 'Enter a password.');
  if (value.length > maximumPasswordInput) throw new AppError('PASSWORD_REJECTED', { fields: { [field]: 'This password is far too long. Use at most 256 characters.' } });
  return value;
}

export const maximumDisplayName = 80;

/** Trimmed, NFC, 1-80 characters without control characters; empty or missing means none. */
export function cleanDisplayName(value: unknown, field = 'displayName'): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalid(field, 'Send the name as text.');
  const name = value.normalize('NFC').trim();
  if (name === '') return null;
  if (codePointCount(name) > maximumDisplayName) throw invalid(field, `Use at most ${maximumDisplayName} characters.`);
  if (/[\p{Cc}\p{Co}\p{Cn}\u2028\u2029]/u.test(name)) throw invalid(field, 'Use letters, digits, spaces and punctuation only.');
  return name;
}

export async function assertPasswordAcceptable(policy: PasswordPolicy, password: string, context: PolicyContext, field: string): Promise<void> {
  const verdict = await policy.check(password, context);
  if (!verdict.ok) throw new AppError('PASSWORD_REJECTED', { fields: { [field]: describeRefusal(verdict) } });
}

/** The audit columns for "who asked, from where". */
export function where(meta: RequestMeta | undefined): { ip: string | null; userAgent: string | null } {
  return { ip: typeof meta?.ip === 'string' ? meta.ip : null, userAgent: typeof meta?.userAgent === 'string' ? meta.userAgent : null };
}
