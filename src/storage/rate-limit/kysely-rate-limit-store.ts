// src/storage/rate-limit/kysely-rate-limit-store.ts
// express-rate-limit's Store port in the database (SQLite or PostgreSQL), for deployments without
// Redis. Every instance sharing the database shares the counts. An increment is one statement,
// INSERT ... ON CONFLICT DO UPDATE ... RETURNING, so concurrent requests (from any instance)
// never lose a hit and never both see the same count.

import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from 'express-rate-limit';
import { sql } from 'kysely';
import type { Db } from '../database.js';
import { unavailableOnFailure } from '../../errors/unavailable.js';
import { preparedQuery } from '../prepared-query.js';
import type { BatchCounters } from './batching-rate-limit-store.js';

export interface WindowCounters {
  /**
   * Adds one to a key's count in the current window (a new window starts when the last one
   * ended), atomically, and returns the count and the window's end.
   */
  increment(key: string, windowMs: number): Promise<{ hits: number; resetAt: number }>;
  /**
   * Adds one only while the count is below `max` (or the window has ended); returns the new count,
   * or undefined when the key is at its limit. One statement: concurrent callers cannot overshoot.
   */
  incrementBelow(key: string, windowMs: number, max: number): Promise<number | undefined>;
  decrement(key: string): Promise<void>;
  get(key: string): Promise<{ hits: number; resetAt: number } | undefined>;
  reset(key: string): Promise<void>;
}

// Every statement of a counter is prepared once per database handle (storage/prepared-query.ts):
// they run on every counted request, and building one with the query builder cost about as much
// as running it (issue 8's profile). Every value is bound, so exact limits (by 1) and batched ones
// (by N) share one statement.

/** Adds `by` to a key's count, or starts a new window with it once the last one has ended. */
const addToCount = preparedQuery(4, (db: Db, key: string, by: number, at: number, resetAt: number) =>
  db
    .insertInto('rate_limit_counters')
    .values({ key, hits: by, reset_at: resetAt })
    .onConflict((conflict) =>
      conflict.column('key').doUpdateSet((eb) => ({
        hits: eb.case().when('rate_limit_counters.reset_at', '<=', at).then(eb.val(by)).else(eb('rate_limit_counters.hits', '+', eb.val(by))).end(),
        reset_at: eb.case().when('rate_limit_counters.reset_at', '<=', at).then(eb.val(resetAt)).else(eb.ref('rate_limit_counters.reset_at')).end(),
      })),
    )
    .returning(['hits', 'reset_at']),
);

/** Adds one while the count is below `max` (or the window has ended); no row when at the limit. */
const addOneBelow = preparedQuery(4, (db: Db, key: string, at: number, resetAt: number, max: number) =>
  db
    .insertInto('rate_limit_counters')
    .values({ key, hits: 1, reset_at: resetAt })
    .onConflict((conflict) =>
      conflict
        .column('key')
        .doUpdateSet((eb) => ({
          hits: eb.case().when('rate_limit_counters.reset_at', '<=', at).then(sql<number>`1`).else(eb('rate_limit_counters.hits', '+', 1)).end(),
          reset_at: eb.case().when('rate_limit_counters.reset_at', '<=', at).then(eb.val(resetAt)).else(eb.ref('rate_limit_counters.reset_at')).end(),
        }))
        .where((eb) => eb.or([eb('rate_limit_counters.reset_at', '<=', at), eb('rate_limit_counters.hits', '<', max)])),
    )
    .returning(['hits']),
);

const takeOne = preparedQuery(1, (db: Db, key: string) => db.updateTable('rate_limit_counters').set((eb) => ({ hits: eb('hits', '-', 1) })).where('key', '=', key).where('hits', '>', 0));
const countOf = preparedQuery(2, (db: Db, key: string, at: number) => db.selectFrom('rate_limit_counters').select(['hits', 'reset_at']).where('key', '=', key).where('reset_at', '>', at));
const forget = preparedQuery(1, (db: Db, key: string) => db.deleteFrom('rate_limit_counters').where('key', '=', key));

/** Fixed-window counters in the rate_limit_counters table. */
export function kyselyWindowCounters(db: Db, now: () => number = Date.now): WindowCounters & BatchCounters & { prune(): Promise<number> } {
  return {
    async increment(key, windowMs) {
      return this.incrementBy(key, windowMs, 1);
    },
    async incrementBy(key, windowMs, by) {
      const at = now();
      const [row] = await addToCount(db, key, by, at, at + windowMs);
      if (row === undefined) throw new Error('rate-limit counter: the upsert returned no row');
      return { hits: row.hits, resetAt: row.reset_at };
    },
    async incrementBelow(key, windowMs, max) {
      const at = now();
      const [row] = await addOneBelow(db, key, at, at + windowMs, max);
      return row === undefined ? undefined : row.hits;
    },
    async decrement(key) {
      await takeOne(db, key);
    },
    async get(key) {
      const [row] = await countOf(db, key, now());
      return row === undefined ? undefined : { hits: row.hits, resetAt: row.reset_at };
    },
    async reset(key) {
      await forget(db, key);
    },
    async prune() {
      const result = await db.deleteFrom('rate_limit_counters').where('reset_at', '<=', now()).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

/** express-rate-limit's Store over the database counters; one instance per limiter (own prefix). */
export class KyselyRateLimitStore implements Store {
  readonly prefix: string;
  /** Counts live in the shared database: one instance's hits are every instance's. */
  readonly localKeys = false;
  #windowMs = 60_000;
  readonly #counters: WindowCounters;

  constructor(counters: WindowCounters, prefix: string) {
    this.#counters = counters;
    this.prefix = prefix;
  }

  init(options: Options): void {
    this.#windowMs = options.windowMs;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const found = await unavailableOnFailure(this.#counters.get(this.prefix + key));
    return found === undefined ? undefined : { totalHits: found.hits, resetTime: new Date(found.resetAt) };
  }

  async increment(key: string): Promise<IncrementResponse> {
    const { hits, resetAt } = await unavailableOnFailure(this.#counters.increment(this.prefix + key, this.#windowMs));
    return { totalHits: hits, resetTime: new Date(resetAt) };
  }

  async decrement(key: string): Promise<void> {
    await unavailableOnFailure(this.#counters.decrement(this.prefix + key));
  }

  async resetKey(key: string): Promise<void> {
    await unavailableOnFailure(this.#counters.reset(this.prefix + key));
  }
}
