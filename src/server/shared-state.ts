// src/server/shared-state.ts
// The state every instance of a deployment must share, built in one place: with
// PORTCULLIS_REDIS_URL, sessions, rate-limit counters and sign-in throttling live in Redis; without
// it they live in the database (SQLite or PostgreSQL). Never in process memory: a second instance
// would not see the first one's counts, and an attacker would simply spread guesses over both.

import type { AccountsSetup } from '../accounts/setup.js';
import { findUserByEmail, findUserById, type UserRow } from '../accounts/users.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import { createSignInProtection, type SignInProtection, type ThrottledAccount } from '../security/brute-force.js';
import { createDeviceCookies } from '../security/device-cookie.js';
import { deriveKey } from '../security/keys.js';
import { createRateLimiters, type RateLimiters } from '../security/rate-limit.js';
import { createKyselyBruteForceStore } from '../storage/brute-force/kysely-brute-force-store.js';
import type { BruteForceStore } from '../storage/brute-force/port.js';
import { createRedisBruteForceStore } from '../storage/brute-force/redis-brute-force-store.js';
import type { Db } from '../storage/database.js';
import type { Store } from 'express-rate-limit';
import { BatchingRateLimitStore, type BatchCounters } from '../storage/rate-limit/batching-rate-limit-store.js';
import { KyselyRateLimitStore, kyselyWindowCounters } from '../storage/rate-limit/kysely-rate-limit-store.js';
import { createRedisRateLimitStore, redisWindowCounters } from '../storage/rate-limit/redis-rate-limit-store.js';
import { connectRedis, type RedisConnection } from '../storage/redis.js';
import { RedisSessionStore } from '../storage/sessions/redis-session-store.js';

export interface SharedState {
  /** The Redis connection, when configured. */
  readonly redis: RedisConnection | undefined;
  /** Sessions in Redis, when configured; otherwise the caller keeps them in the database. */
  readonly redisSessionStore: RedisSessionStore | undefined;
  readonly rateLimiters: RateLimiters;
  readonly bruteForce: BruteForceStore;
  /** The sign-in throttle over the account domain (its sign-in, audit trail, hasher and mailer). */
  signInProtection(accounts: AccountsSetup): SignInProtection;
  /** Deletes expired counters kept in the database (Redis expires its own). */
  prune(): Promise<number>;
  close(): Promise<void>;
}

/** How long start waits for Redis before serving anyway (auth routes answer 503 until it comes). */
const redisStartWaitMs = 5_000;

/** The row each throttled account was made from, so the domain's sign-in can use it (one read). */
const rowOfAccount = new WeakMap<ThrottledAccount, UserRow>();

function throttledAccount(row: UserRow | undefined): ThrottledAccount | undefined {
  if (row === undefined) return undefined;
  const account = { id: row.id, email: row.email, displayName: row.display_name, passwordChangedAt: row.password_changed_at };
  rowOfAccount.set(account, row);
  return account;
}

/** Start-time advice about settings that weaken rate limiting; each has a stable code. */
export function rateLimitAdvice(config: Config): { code: string; level: 'warn' | 'info'; message: string }[] {
  const advice: { code: string; level: 'warn' | 'info'; message: string }[] = [];
  if (typeof config.trustProxy === 'number') {
    advice.push({
      code: 'PORTCULLIS_TRUST_PROXY_HOP_COUNT',
      level: 'warn',
      message: `PORTCULLIS_TRUST_PROXY is a hop count (${config.trustProxy}): a client that reaches Portcullis without passing the proxy can choose the address it is limited by. Prefer the proxy's addresses (a CIDR list), or make sure only the proxy can connect.`,
    });
  }
  if (config.redis === undefined && config.database.kind === 'sqlite' && config.tls.mode === 'proxy') {
    // One instance behind a proxy is a fine deployment: a reminder, not a warning.
    advice.push({
      code: 'PORTCULLIS_SHARED_STATE_LOCAL',
      level: 'info',
      message: 'rate limits and sign-in throttling are counted in a SQLite file: run one instance per file, or set PORTCULLIS_DATABASE_URL (PostgreSQL) or PORTCULLIS_REDIS_URL so every instance counts together.',
    });
  }
  return advice;
}

export async function createSharedState(options: { config: Config; logger: Logger; db: Db }): Promise<SharedState> {
  const { config, logger, db } = options;
  let redis: RedisConnection | undefined;
  if (config.redis !== undefined) {
    redis = connectRedis(config.redis, logger);
    if (!(await redis.waitUntilReady(redisStartWaitMs))) {
      // Serving anyway: public pages work, and everything recovers when Redis comes back.
      logger.error({ code: 'REDIS_UNAVAILABLE' }, 'Redis is not reachable: sign-in and the other account routes answer 503 until it is');
    }
  }
  const counters = kyselyWindowCounters(db);
  const connection = redis;
  // The general limit is counted in batches, in the database and in Redis alike (one write per
  // batch instead of per request; a bounded overshoot, storage/rate-limit/batching-rate-limit-
  // store.ts): it is counted on every request, and only has to stop floods. Every other limit
  // stays exact, one statement or one Redis script per request.
  const batching: BatchingRateLimitStore[] = [];
  const batched = (windowCounters: BatchCounters, name: string): Store => {
    const store = new BatchingRateLimitStore(windowCounters, `rl:${name}:`);
    batching.push(store);
    return store;
  };
  const databaseStore = (name: string): Store => (name === 'general' ? batched(counters, name) : new KyselyRateLimitStore(counters, `rl:${name}:`));
  const redisStore = (redisConnection: RedisConnection) => {
    const redisCounters = redisWindowCounters(redisConnection, 'batched');
    return (name: string): Store => (name === 'general' ? batched(redisCounters, name) : createRedisRateLimitStore(redisConnection, name));
  };
  const rateLimiters = createRateLimiters({
    limits: config.rateLimit,
    storeFor: connection === undefined ? databaseStore : redisStore(connection),
    logger,
  });
  for (const { code, level, message } of rateLimitAdvice(config)) {
    if (level === 'warn') logger.warn({ code }, message);
    else logger.info({ code }, message);
  }
  const bruteForce = connection === undefined ? createKyselyBruteForceStore(db) : createRedisBruteForceStore(connection);
  const redisSessionStore = connection === undefined ? undefined : new RedisSessionStore(connection, config.session);
  const devices = createDeviceCookies(deriveKey(config.masterKey, 'device-cookie'));

  return {
    redis,
    redisSessionStore,
    rateLimiters,
    bruteForce,
    signInProtection(accounts) {
      const { service, deps } = accounts;
      return createSignInProtection({
        config: config.bruteForce,
        store: bruteForce,
        devices,
        // The throttle read the account by the same normalised address a moment ago: sign-in uses
        // that row instead of reading it again (an account it did not make is read as before).
        signIn: (input, meta, found) => {
          const row = found?.account === undefined ? undefined : rowOfAccount.get(found.account);
          const known = found !== undefined && (found.account === undefined || row !== undefined);
          return service.signIn(input, meta, known ? { email: found.email, row } : undefined);
        },
        recordEvent: (event) => service.recordEvent(event),
        findAccountByEmail: async (email) => throttledAccount(await findUserByEmail(db, email)),
        findAccountById: async (id) => throttledAccount(await findUserById(db, id)),
        spendHashTime: (password) => deps.passwords.verifyDummy(password),
        deliver: (message) => {
          deps.mailer.send(message).catch((error: unknown) => {
            logger.error({ purpose: 'sign_in_throttled', error: error instanceof Error ? error.message : String(error) }, 'an account email could not be sent');
          });
        },
        templates: { siteName: config.siteName, publicOrigin: config.publicOrigin },
        logger,
      });
    },
    async prune() {
      // Database counters only; Redis keys expire by themselves.
      return connection === undefined ? counters.prune() : 0;
    },
    async close() {
      // Hits still waiting in a batch reach the database before it closes (the caller destroys it
      // after this). A failed write is not worth failing the shutdown for.
      await Promise.allSettled(batching.map((store) => store.shutdown()));
      await redis?.close();
    },
  };
}
