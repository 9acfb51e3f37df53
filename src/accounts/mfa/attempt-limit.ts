// src/accounts/mfa/attempt-limit.ts
// At most five wrong second-factor codes per account in any five minutes (a sliding window), then
// every code, right or wrong, gets the wrong-code answer until the oldest failure ages out.
//
// Each attempt is written down *before* its code is checked and removed again if the code was
// right, so concurrent guesses cannot slip past the count: the n-th attempt to be recorded sees at
// least n rows when it counts, so at most `max` attempts per window are ever evaluated, on SQLite
// and PostgreSQL alike, without locks. A refused attempt removes its own row (it was not
// evaluated), so hammering a locked account does not extend the lock.

import { randomUUID } from 'node:crypto';
import type { Db } from '../../storage/database.js';

export const secondFactorMaxFailures = 5;
export const secondFactorWindowMs = 5 * 60_000;

export interface AttemptReservation {
  /** The code was right: the attempt does not count against the account. */
  succeeded(): Promise<void>;
  /** The code was wrong: the attempt stays counted for the window. */
  failed(): Promise<void>;
}

export interface CodeAttemptLimiter {
  /** A place for one attempt, or undefined when the account has used up its wrong codes. */
  reserve(userId: string): Promise<AttemptReservation | undefined>;
  /** Deletes failures older than the window; returns how many. */
  prune(): Promise<number>;
}

export interface AttemptLimitOptions {
  readonly max?: number;
  readonly windowMs?: number;
  readonly now: () => number;
}

export function createCodeAttemptLimiter(db: Db, options: AttemptLimitOptions): CodeAttemptLimiter {
  const { max = secondFactorMaxFailures, windowMs = secondFactorWindowMs, now } = options;
  return {
    async reserve(userId) {
      const id = randomUUID();
      const at = now();
      await db.insertInto('mfa_failures').values({ id, user_id: userId, at }).execute();
      const row = await db
        .selectFrom('mfa_failures')
        .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
        .where('user_id', '=', userId)
        .where('at', '>', at - windowMs)
        .executeTakeFirstOrThrow();
      const remove = async () => {
        await db.deleteFrom('mfa_failures').where('id', '=', id).execute();
      };
      if (Number(row.n) > max) {
        await remove();
        return undefined;
      }
      return { succeeded: remove, failed: () => Promise.resolve() };
    },
    async prune() {
      const result = await db.deleteFrom('mfa_failures').where('at', '<=', now() - windowMs).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
