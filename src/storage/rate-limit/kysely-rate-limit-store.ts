// src/storage/rate-limit/kysely-rate-limit-store.ts
// express-rate-limit's Store port in the database (SQLite or PostgreSQL), for deployments without
// Redis. Every instance sharing the database shares the counts. An increment is one statement,
// INSERT ... ON CONFLICT DO UPDATE ... RETURNING, so concurrent requests (from any instance)
// never lose a hit and never both see the same count.

import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from 'express-rate-limit';
import { sql } from 'kysely';
import type { Db } from '../database.js';
import { unavailableOnFailure } from '../../errors/unavailable.js';
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

/**
 * Fixed-window counters in the rate_limit_counters table. Every value is a bound parameter
 * (eb.val in CASE branches: Kysely writes a plain number there into the SQL text), so the
 * statement's text is the same on every request and SQLite compiles it once (issue 8).
 */
export function kyselyWindowCounters(db: Db, now: () => number = Date.now): WindowCounters & BatchCounters & { prune(): Promise<number> } {
  return {
    async increment(key, windowMs) {
      return this.incrementBy(key, windowMs, 1);
    },
    async incrementBy(key, windowMs, by) {
      const at = now();
      const resetAt = at + windowMs;
      // One SQL template rather than the query builder: this statement runs on every request, and
      // building it with the builder cost about as much as running it (issue 8's profile). The
      // amount is bound too, so exact limits (by 1) and batched ones (by N) share one statement.
      const { rows } = await sql<{ hits: number; reset_at: number }>`
        insert into "rate_limit_counters" ("key", "hits", "reset_at") values (${key}, ${by}, ${resetAt})
        on conflict ("key") do update set
          "hits" = case when "rate_limit_counters"."reset_at" <= ${at} then ${by} else "rate_limit_counters"."hits" + ${by} end,
          "reset_at" = case when "rate_limit_counters"."reset_at" <= ${at} then ${resetAt} else "rate_limit_counters"."reset_at" end
        returning "hits", "reset_at"`.execute(db);
      const row = rows[0];
      if (row === undefined) throw new Error('rate-limit counter: the upsert returned no row');
      return { hits: row.hits, resetAt: row.reset_at };
    },
    async incrementBelow(key, windowMs, max) {
      const at = now();
      const row = await db
        .insertInto('rate_limit_counters')
        .values({ key, hits: 1, reset_at: at + windowMs })
        .onConflict((conflict) =>
          conflict
            .column('key')
            .doUpdateSet((eb) => ({
              hits: eb.case().when('rate_limit_counters.reset_at', '<=', at).then(sql<number>`1`).else(eb('rate_limit_counters.hits', '+', 1)).end(),
              reset_at: eb.case().when('rate_limit_counters.reset_at', '<=', at).then(eb.val(at + windowMs)).else(eb.ref('rate_limit_counters.reset_at')).end(),
            }))
            .where((eb) => eb.or([eb('rate_limit_counters.reset_at', '<=', at), eb('rate_limit_counters.hits', '<', max)])),
        )
        .returning(['hits'])
        .executeTakeFirst();
      return row === undefined ? undefined : row.hits;
    },
    async decrement(key) {
      await db.updateTable('rate_limit_counters').set((eb) => ({ hits: eb('hits', '-', 1) })).where('key', '=', key).where('hits', '>', 0).execute();
    },
    async get(key) {
      const row = await db.selectFrom('rate_limit_counters').select(['hits', 'reset_at']).where('key', '=', key).where('reset_at', '>', now()).executeTakeFirst();
      return row === undefined ? undefined : { hits: row.hits, resetAt: row.reset_at };
    },
    async reset(key) {
      await db.deleteFrom('rate_limit_counters').where('key', '=', key).execute();
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
