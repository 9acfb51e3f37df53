// src/security/rate-limit.ts
// Practice 5 (rate limiting) with express-rate-limit, counted in a store every instance shares
// (Redis, else the database; never process memory alone: the general limit in the database is
// counted in batches, with a bounded overshoot, storage/rate-limit/batching-rate-limit-store.ts):
//   general  every route, per client address (300 per 15 minutes); static assets and health
//            checks are served before it and never counted;
//   auth     state-changing requests to sign-in, sign-up, password reset, email verification,
//            re-authentication, unlock, second factors (/second-factor/*, /account/mfa/*, /mfa/*,
//            /api/v1/me/mfa/*) and the API's auth routes (/api/v1/auth/*, MFA included), per
//            client address (20 per window);
//   email    sign-ups and reset requests per target address (the normalised email, hashed), so
//            nobody can flood one inbox from many addresses (5 per window).
// Answers carry draft-8 RateLimit and RateLimit-Policy headers; a refusal is a 429 with
// Retry-After and the generic error body (code RATE_LIMITED) from the central error handler.
// express-rate-limit's own validations stay on; what they find is logged with its stable code.

import { createHash } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type Options, type Store } from 'express-rate-limit';
import type { Config, RateLimitConfig } from '../config/config.js';
import { normaliseEmail } from '../accounts/email-address.js';
import { AppError } from '../errors/app-error.js';
import { RefusalCachingStore } from '../storage/rate-limit/refusal-cache.js';
import type { Logger } from '../observability/logger.js';

/** Paths whose state-changing requests count against the auth limit. Prefixes end with '/'. */
export const authPaths: readonly string[] = Object.freeze([
  '/sign-in',
  '/sign-up',
  '/forgot-password',
  '/reset-password',
  '/verify-email',
  '/verify-email/resend',
  '/reauthenticate',
  '/unlock-account',
  // Second factors (issue 4): the sign-in step, the settings pages and the API.
  '/second-factor/',
  '/account/mfa/',
  '/mfa/',
  '/api/v1/me/mfa/',
  '/api/v1/auth/',
]);

/** Where a target email address is read from the body and limited per address. */
export const emailLimitedPaths: readonly string[] = Object.freeze(['/sign-up', '/forgot-password', '/api/v1/auth/sign-up', '/api/v1/auth/password/forgot']);

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isAuthPath(path: string, paths: readonly string[] = authPaths): boolean {
  return paths.some((entry) => (entry.endsWith('/') ? path.startsWith(entry) : path === entry));
}

/** Makes one store per limiter (express-rate-limit refuses to share one), named for its keys. */
export type RateLimitStoreFactory = (name: string) => Store;

export interface RateLimitOptions {
  readonly limits: RateLimitConfig;
  readonly storeFor: RateLimitStoreFactory;
  readonly logger: Logger;
}

export interface RateLimiters {
  /** Every route; mount after static assets and health checks. Fails open if its store is down. */
  readonly general: RequestHandler;
  /** The authentication routes (authPaths); mount after the body parsers. Fails closed (503). */
  readonly auth: RequestHandler;
  /** Per target email on sign-up and reset requests; mount after the body parsers. Fails closed. */
  readonly email: RequestHandler;
  /**
   * A limiter of the auth kind for routes added later (for example a new MFA router):
   * `router.use(limiters.strict('mfa-setup', 10))`. Fails closed.
   */
  strict(name: string, limit: number): RequestHandler;
  /**
   * The general limit's refusal of `address` when the address is already over it this window
   * (counted as one more hit), else undefined: what lets a flood be answered before any other work.
   */
  readonly knownRefusal: (address: string) => KnownRefusal | undefined;
  /**
   * Counts one request from `address` against the general limit, as the general limiter would, and
   * gives its answer: the draft-8 headers, and whether the request is refused (then with its
   * Retry-After). For answers given before Express (web/guest-lane.ts); rejects when the store fails.
   */
  readonly countGeneral: (address: string) => Promise<GeneralCount>;
}

/** The general limit's answer to one counted request, worded as express-rate-limit words it. */
export interface GeneralCount {
  readonly refused: boolean;
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/** A refusal the general limit already decided: its limiter's name and the headers it sends. */
export interface KnownRefusal {
  readonly limiter: string;
  /** RateLimit, RateLimit-Policy and Retry-After, exactly as express-rate-limit sets them. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/** How often one identical complaint from express-rate-limit (or its store) is logged. */
const repeatIntervalMs = 60_000;

interface CodedError {
  code?: unknown;
  help?: unknown;
  message?: unknown;
}

/**
 * express-rate-limit's Logger port: its validation errors carry a stable ERR_ERL_* code and a help
 * link, and become one structured line each; a store failing on every request is logged once a minute.
 */
export function rateLimitLogger(logger: Logger): NonNullable<Options['logger']> {
  const lastSeen = new Map<string, number>();
  const report = (level: 'warn' | 'error') => (error: unknown, message?: string) => {
    const coded = (typeof error === 'object' && error !== null ? error : {}) as CodedError;
    const code = typeof coded.code === 'string' && coded.code.startsWith('ERR_ERL_') ? coded.code : 'RATE_LIMIT_STORE_ERROR';
    const text = message ?? (typeof coded.message === 'string' ? coded.message : String(error));
    const key = `${code} ${text}`;
    const now = Date.now();
    if (now - (lastSeen.get(key) ?? -Infinity) < repeatIntervalMs) return;
    lastSeen.set(key, now);
    if (lastSeen.size > 100) lastSeen.clear();
    const fields = { code, help: typeof coded.help === 'string' ? coded.help : undefined, cause: error instanceof Error && code === 'RATE_LIMIT_STORE_ERROR' ? error.message : undefined };
    if (level === 'warn') logger.warn(fields, `rate limiting: ${text}`);
    else logger.error(fields, `rate limiting: ${text}`);
  };
  return { warn: report('warn'), error: report('error') };
}

function emailKey(req: Request): string | undefined {
  const body: unknown = req.body;
  const raw = typeof body === 'object' && body !== null ? (Reflect.get(body, 'email') as unknown) : undefined;
  const email = normaliseEmail(raw);
  // Hashed: counters never hold an address in the clear.
  return email === undefined ? undefined : createHash('sha256').update(email, 'utf8').digest('hex');
}

export function createRateLimiters(options: Readonly<RateLimitOptions>): RateLimiters {
  const { limits, storeFor } = options;
  const logger = rateLimitLogger(options.logger);
  const base = {
    windowMs: limits.windowMs,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    logger,
    // RATE_LIMITED through the central error handler: the same body (or page) as every refusal.
    // Retry-After is already set by express-rate-limit from the window's end.
    handler: (_req, _res, next) => {
      next(new AppError('RATE_LIMITED'));
    },
  } satisfies Partial<Options>;

  // Keys already over their limit are refused from memory until their window ends (the 429 path
  // an attacker hits costs no write to the shared store; storage/rate-limit/refusal-cache.ts).
  // A request the limiter does not apply to never enters express-rate-limit's asynchronous round
  // (two awaits and a promise chain, on every request for each limiter: issue 8's profile); the
  // library's own skip would give the same answer, later.
  const limiter = (name: string, limit: number, { appliesTo, ...extra }: Partial<Options> & { appliesTo?: (req: Request) => boolean }, store = new RefusalCachingStore(storeFor(name))): RequestHandler => {
    const middleware = rateLimit({ ...base, limit, identifier: name, store, passOnStoreError: false, ...extra });
    if (appliesTo === undefined) return middleware;
    return (req, res, next) => {
      if (appliesTo(req)) void middleware(req, res, next);
      else next();
    };
  };

  const authLimiter = limiter('auth', limits.authMax, { appliesTo: (req) => !safeMethods.has(req.method) && isAuthPath(req.path) });

  // A client the general limit has refused is refused again from memory until its window ends,
  // before any other work (security/early-refusal.ts): the 429 path must be cheap, it is what an
  // attacker floods (issue 8). The first refusal, and every other request, go through the library.
  const generalStore = new RefusalCachingStore(storeFor('general'));

  return {
    // Public pages keep working while the shared store is away; the auth limits below do not.
    general: limiter('general', limits.generalMax, { passOnStoreError: true }, generalStore),
    ...generalLimitAnswers('general', limits.generalMax, limits.windowMs, generalStore),
    auth: authLimiter,
    email: limiter('email', limits.emailMax, {
      appliesTo: (req) => req.method === 'POST' && emailLimitedPaths.includes(req.path) && emailKey(req) !== undefined,
      keyGenerator: (req) => emailKey(req) ?? '',
    }),
    strict: (name, limit) => limiter(name, limit, { appliesTo: (req) => !safeMethods.has(req.method) }),
  };
}

/**
 * The general limit's answers outside express-rate-limit, worded as the library words them (the
 * draft-8 headers with the key's partition, and Retry-After on a refusal; a test compares them
 * header by header): `knownRefusal` for an address already refused this window (counted as one
 * more hit; undefined for any other address), `countGeneral` for any request. The key is the
 * library's default: the address, IPv6 by /56.
 */
function generalLimitAnswers(name: string, limit: number, windowMs: number, store: RefusalCachingStore): Pick<RateLimiters, 'knownRefusal' | 'countGeneral'> {
  const windowSeconds = Math.ceil(windowMs / 1000);
  // The policy header names the key's partition as express-rate-limit does (a SHA-256 prefix);
  // kept per key so a flood, or a visitor's next pages, hash nothing. Bounded: cleared when full.
  const partitions = new Map<string, string>();
  const partitionOf = (key: string): string => {
    let partition = partitions.get(key);
    if (partition === undefined) {
      partition = Buffer.from(createHash('sha256').update(key).digest('hex').slice(0, 12)).toString('base64');
      if (partitions.size >= 10_000) partitions.clear();
      partitions.set(key, partition);
    }
    return partition;
  };
  const headersFor = (key: string, remaining: number, resetAt: number | undefined, refused: boolean): Array<readonly [string, string]> => {
    const seconds = String(resetAt === undefined ? windowSeconds : Math.max(0, Math.ceil((resetAt - Date.now()) / 1000)));
    const headers: Array<readonly [string, string]> = [
      ['RateLimit', `"${name}"; r=${remaining}; t=${seconds}`],
      ['RateLimit-Policy', `"${name}"; q=${limit}; w=${windowSeconds}; pk=:${partitionOf(key)}:`],
    ];
    if (refused) headers.push(['Retry-After', seconds]);
    return headers;
  };
  return {
    knownRefusal(address) {
      const key = ipKeyGenerator(address);
      const refusal = store.refusalOf(key);
      return refusal === undefined ? undefined : { limiter: name, headers: headersFor(key, 0, refusal.resetAt, true) };
    },
    async countGeneral(address) {
      const key = ipKeyGenerator(address);
      const { totalHits, resetTime } = await store.increment(key);
      const refused = totalHits > limit;
      return { refused, headers: headersFor(key, Math.max(limit - totalHits, 0), resetTime?.getTime(), refused) };
    },
  };
}

/** The limits from the configuration. */
export function rateLimitsOf(config: Config): RateLimitConfig {
  return config.rateLimit;
}
