// src/security/brute-force.ts
// Practice 5 for passwords: per-account throttling that an attacker cannot turn against the owner.
//   - Account: from the 5th consecutive failure, attempts from unknown browsers wait 1 minute,
//     doubling per failure to a 1-hour cap; and never more than 100 consecutive failures are
//     evaluated before a success or an emailed unlock (NIST 800-63B-4 section 3.2.2). Each attempt
//     is counted before its password is checked (storage/brute-force/port.ts), so concurrent
//     guesses from many instances cannot slip past the count.
//   - Device cookie (OWASP Slow Brute Force cheat sheet): a browser that signed in before keeps an
//     allowance of its own (10 failures an hour) while the account is throttled for everyone else.
//     Its success restarts NIST's consecutive count but not the delays for unknown browsers, so
//     the owner's daily sign-ins never hand an attacker fresh guesses.
//   - Address: failures per client address across all accounts (credential stuffing), 30 an hour.
// A refused attempt still costs one password hash and ends in the same INVALID_CREDENTIALS as an
// unknown email or a wrong password: status, body and timing tell nothing. The owner gets one
// email when throttling starts, with a single-use link that lifts it; every step is audited.

import { createHash, randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import type { BruteForceConfig } from '../config/config.js';
import { normaliseEmail } from '../accounts/email-address.js';
import type { AccountService, PublicUser, RequestMeta } from '../accounts/types.js';
import type { MailMessage } from '../email/mailer.js';
import type { TemplateContext } from '../email/templates.js';
import { signInThrottledMessage } from '../email/unlock-template.js';
import { AppError, isAppError } from '../errors/app-error.js';
import type { Logger } from '../observability/logger.js';
import type { BruteForceStore, DelaySchedule } from '../storage/brute-force/port.js';
import type { DeviceAccount, DeviceCookies, DeviceToken } from './device-cookie.js';

/** How long the emailed unlock link works. */
export const unlockLinkLifetimeMs = 24 * 60 * 60_000;

/** What the throttle needs to know about an account: who it is, and where to write. */
export interface ThrottledAccount extends DeviceAccount {
  readonly email: string;
  readonly displayName: string | null;
}

export interface SignInProtectionDeps {
  readonly config: BruteForceConfig;
  readonly store: BruteForceStore;
  readonly devices: DeviceCookies;
  /**
   * The domain's sign-in (evaluates the password, audits the outcome). `account` is what
   * findAccountByEmail returned for the same normalised address, so it need not be read twice.
   */
  readonly signIn: (credentials: { email: string; password: string }, meta: RequestMeta, found: { readonly email: string; readonly account: ThrottledAccount | undefined } | undefined) => Promise<PublicUser>;
  readonly recordEvent: AccountService['recordEvent'];
  readonly findAccountByEmail: (normalisedEmail: string) => Promise<ThrottledAccount | undefined>;
  readonly findAccountById: (userId: string) => Promise<ThrottledAccount | undefined>;
  /** Costs what checking a password costs (a dummy verification), for refused attempts. */
  readonly spendHashTime: (password: string) => Promise<void>;
  /** Sends in the background, like every account email. */
  readonly deliver: (message: MailMessage) => void;
  readonly templates: TemplateContext;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** Why an attempt was not evaluated; kept in the audit trail, never shown. */
export type RefusalReason = 'account_throttled' | 'account_locked' | 'address_throttled';

export interface AttemptContext {
  readonly meta: RequestMeta;
  /** The verified device cookie the request carried, if any. */
  readonly device: DeviceToken | undefined;
}

export interface SignInThrottle {
  /** Signs in through the throttle. Throws INVALID_CREDENTIALS for every kind of refusal alike. */
  signIn(credentials: { email: string; password: string }, context: AttemptContext): Promise<{ user: PublicUser; trustedDevice: boolean }>;
  /**
   * The hook for the second factor (TOTP, recovery codes): the same per-account count and device
   * allowance, under the key `second-factor:<user id>`. `verify` runs only when the attempt is
   * allowed; a refusal returns false exactly like a wrong code.
   */
  secondFactor(userId: string, context: AttemptContext, verify: () => Promise<boolean>): Promise<boolean>;
  /** Spends an emailed unlock link: the account's delays and count end. False for a bad link. */
  unlock(token: unknown, meta: RequestMeta): Promise<boolean>;
  /** Ends the account's delays after another proof of the inbox (a completed password reset). */
  clear(userId: string): Promise<void>;
}

export function hashUnlockToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const unlockTokenPattern = /^[A-Za-z0-9_-]{43}$/;

export function createSignInThrottle(deps: SignInProtectionDeps): SignInThrottle {
  const { config, store, devices } = deps;
  const now = deps.now ?? Date.now;
  const schedule: DelaySchedule = Object.freeze({ throttleAfter: config.throttleAfter, baseDelayMs: config.baseDelayMs, maxDelayMs: config.maxDelayMs });
  // Unknown browsers stop early enough to leave trusted ones their allowance inside the cap.
  const untrustedCap = config.maxConsecutiveFailures - config.deviceMaxFailures;
  const cap = config.maxConsecutiveFailures;

  const audit = (type: string, outcome: 'success' | 'failure', subjectId: string | null, meta: RequestMeta, detail: Record<string, string | number | boolean> | null) =>
    deps.recordEvent({ type, outcome, actorId: null, subjectId, ip: meta.ip, userAgent: meta.userAgent, detail });

  /** The owner's one email for this episode, with a fresh unlock link. */
  const startEpisode = async (account: ThrottledAccount, failures: number, meta: RequestMeta, kind: string): Promise<void> => {
    const token = randomBytes(32).toString('base64url');
    await store.saveUnlockToken(`${kind}${account.id}`, hashUnlockToken(token), now() + unlockLinkLifetimeMs);
    deps.deliver(signInThrottledMessage(deps.templates, { to: account.email, displayName: account.displayName, failures, token, linkLifetimeHours: unlockLinkLifetimeMs / 3_600_000 }));
    await audit('sign_in_throttled', 'failure', account.id, meta, { failures, step: kind === '' ? 'password' : 'second_factor' });
    deps.logger.warn({ code: 'SIGN_IN_THROTTLED', subjectId: account.id, failures }, 'an account is under repeated failed sign-ins; its owner was emailed');
  };

  /**
   * Decides whether an attempt on `account` (undefined: no such account) may be evaluated, and
   * counts it. Returns the refusal reason, or what to settle after the evaluation.
   */
  const admit = async (account: ThrottledAccount | undefined, context: AttemptContext, kind: '' | 'second-factor:') => {
    const attemptId = randomBytes(12).toString('base64url');
    const at = now();
    let trusted = account !== undefined && context.device !== undefined && devices.vouchesFor(context.device, account);
    let deviceKey: string | undefined;
    if (trusted && context.device !== undefined) {
      deviceKey = `dev:${context.device.deviceId}`;
      // A trusted browser that spent its own allowance is an unknown browser again.
      if ((await store.counters.incrementBelow(deviceKey, config.deviceWindowMs, config.deviceMaxFailures)) === undefined) {
        trusted = false;
        deviceKey = undefined;
      }
    }
    let addressKey: string | undefined;
    if (!trusted) {
      addressKey = `ip:${ipKeyGenerator(context.meta.ip === '' ? '0.0.0.0' : context.meta.ip)}`;
      if ((await store.counters.incrementBelow(addressKey, config.ipWindowMs, config.ipMaxFailures)) === undefined) {
        return { refusal: 'address_throttled' as const, trusted, deviceKey, addressKey: undefined, claim: undefined };
      }
    }
    if (account === undefined) return { refusal: undefined, trusted, deviceKey, addressKey, claim: undefined };
    const accountKey = `${kind}${account.id}`;
    const claim = trusted ? await store.claimTrusted(accountKey, at, cap) : await store.claimUntrusted(accountKey, at, schedule, untrustedCap, attemptId);
    if (!claim.allowed) {
      const refusal: RefusalReason = claim.failures >= (trusted ? cap : untrustedCap) ? 'account_locked' : 'account_throttled';
      return { refusal, trusted, deviceKey, addressKey, claim };
    }
    return { refusal: undefined, trusted, deviceKey, addressKey, claim };
  };

  const settleSuccess = async (account: ThrottledAccount, kind: string, admitted: { trusted: boolean; deviceKey: string | undefined; addressKey: string | undefined }) => {
    // From the owner's usual browser only the consecutive count ends; delays for unknown browsers
    // stay, or every sign-in of the owner would hand an attacker five fresh guesses.
    // A success is not a failure: the address gets back the attempt it was charged. The three
    // writes are independent, so they go together: on Redis, one round trip (issue 8).
    const { addressKey, deviceKey } = admitted;
    await Promise.all([
      admitted.trusted ? store.trustedSuccess(`${kind}${account.id}`) : store.reset(`${kind}${account.id}`),
      addressKey === undefined ? undefined : store.counters.decrement(addressKey),
      deviceKey === undefined ? undefined : store.counters.reset(deviceKey),
    ]);
  };

  return {
    async signIn(credentials, context) {
      const email = normaliseEmail((credentials as { email?: unknown } | undefined)?.email);
      const password = (credentials as { password?: unknown } | undefined)?.password;
      const account = email === undefined ? undefined : await deps.findAccountByEmail(email);
      const admitted = await admit(account, context, '');
      if (admitted.refusal !== undefined) {
        // The same work and the same answer as a wrong password: nothing tells the attempt was
        // never looked at.
        await deps.spendHashTime(typeof password === 'string' ? password : '');
        await audit('sign_in', 'failure', account?.id ?? null, context.meta, {
          reason: admitted.refusal,
          ...(email === undefined ? {} : { email }),
          ...(admitted.claim === undefined ? {} : { failures: admitted.claim.failures }),
          trustedDevice: admitted.trusted,
        });
        throw new AppError('INVALID_CREDENTIALS');
      }
      let user: PublicUser;
      try {
        user = await deps.signIn(credentials, context.meta, email === undefined ? undefined : { email, account });
      } catch (error) {
        if (isAppError(error) && error.code === 'INVALID_CREDENTIALS' && account !== undefined && admitted.claim?.startsEpisode === true) {
          await startEpisode(account, admitted.claim.untrustedFailures, context.meta, '');
        }
        throw error;
      }
      // The account signed in is the one looked up (same normalised address).
      if (account !== undefined) await settleSuccess(account, '', admitted);
      return { user, trustedDevice: admitted.trusted };
    },

    async secondFactor(userId, context, verify) {
      const account = await deps.findAccountById(userId);
      if (account === undefined) return false;
      const admitted = await admit(account, context, 'second-factor:');
      if (admitted.refusal !== undefined) {
        await audit('second_factor', 'failure', account.id, context.meta, { reason: admitted.refusal, trustedDevice: admitted.trusted });
        return false;
      }
      const ok = await verify();
      if (ok) await settleSuccess(account, 'second-factor:', admitted);
      else if (admitted.claim?.startsEpisode === true) await startEpisode(account, admitted.claim.untrustedFailures, context.meta, 'second-factor:');
      return ok;
    },

    async unlock(token, meta) {
      const accountKey = typeof token === 'string' && unlockTokenPattern.test(token) ? await store.consumeUnlockToken(hashUnlockToken(token), now()) : undefined;
      const userId = accountKey?.replace(/^second-factor:/, '');
      await audit('sign_in_unlocked', accountKey === undefined ? 'failure' : 'success', userId ?? null, meta, accountKey === undefined ? { reason: 'invalid_link' } : null);
      if (accountKey?.startsWith('second-factor:') === false) {
        // The link lifts the second factor's count too: the owner proved the inbox once.
        await store.reset(`second-factor:${accountKey}`);
      }
      return accountKey !== undefined;
    },

    async clear(userId) {
      await store.reset(userId);
      await store.reset(`second-factor:${userId}`);
    },
  };
}

/** The request's client address and agent, as the rest of the application records them. */
function metaOf(req: Request): RequestMeta {
  return { ip: req.ip ?? req.socket.remoteAddress ?? '', userAgent: (req.headers['user-agent'] ?? '').slice(0, 512) };
}

/** The throttle as the pages and the API use it: the device cookie read from and set on HTTP. */
export interface SignInProtection {
  readonly throttle: SignInThrottle;
  /** What the sign-in routes call instead of accounts.signIn; renews this browser's device cookie. */
  signIn(req: Request, res: Response, credentials: { email: string; password: string }): Promise<PublicUser>;
  /** For the MFA routes: wraps the check of a second-factor code (see SignInThrottle.secondFactor). */
  secondFactor(req: Request, userId: string, verify: () => Promise<boolean>): Promise<boolean>;
  unlock(req: Request, token: unknown): Promise<boolean>;
  clear(userId: string): Promise<void>;
}

export function createSignInProtection(deps: SignInProtectionDeps): SignInProtection {
  const throttle = createSignInThrottle(deps);
  const { devices } = deps;
  return {
    throttle,
    async signIn(req, res, credentials) {
      const device = devices.read(req);
      const { user } = await throttle.signIn(credentials, { meta: metaOf(req), device });
      // Signed in: this browser is trusted for this account from now on (the same id is kept, so
      // its allowance is not renewed by signing in again).
      devices.set(res, devices.issue(user, device !== undefined && devices.vouchesFor(device, user) ? device.deviceId : undefined));
      return user;
    },
    secondFactor: (req, userId, verify) => throttle.secondFactor(userId, { meta: metaOf(req), device: devices.read(req) }, verify),
    unlock: (req, token) => throttle.unlock(token, metaOf(req)),
    clear: (userId) => throttle.clear(userId),
  };
}
