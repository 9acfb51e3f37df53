// src/storage/brute-force/kysely-brute-force-store.ts
// The sign-in throttle's state in the database (SQLite or PostgreSQL). Each claim is a single
// INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING: the check and the count happen in one
// statement, so no interleaving of requests or instances can evaluate an attempt it should refuse.

import { sql, type Expression, type ExpressionBuilder } from 'kysely';
import type { Db } from '../database.js';
import type { Database } from '../schema.js';
import { kyselyWindowCounters } from '../rate-limit/kysely-rate-limit-store.js';
import { delayAfter, type AccountClaim, type BruteForceStore, type DelaySchedule } from './port.js';

type Eb = ExpressionBuilder<Database, 'sign_in_throttle'>;

/**
 * locked_until for the count the claim is about to make (untrusted_failures + 1), as a CASE over
 * the schedule's steps: the schedule is short (from the first delay to the cap), and plain
 * comparisons work on both engines where pow() does not.
 */
function lockFor(eb: Eb, schedule: DelaySchedule, now: number): Expression<number> {
  const next = eb('sign_in_throttle.untrusted_failures', '+', 1);
  let builder = eb.case().when(next, '<', schedule.throttleAfter).then(eb.ref('sign_in_throttle.locked_until'));
  for (let failures = schedule.throttleAfter; delayAfter(schedule, failures) < schedule.maxDelayMs; failures += 1) {
    builder = builder.when(next, '=', failures).then(sql<number>`${now + delayAfter(schedule, failures)}`);
  }
  return builder.else(sql<number>`${now + schedule.maxDelayMs}`).end();
}

type ClaimRow = { failures: number; untrusted_failures: number; locked_until: number; episode_id: string | null };

function claimFrom(row: ClaimRow | undefined, attemptId: string | undefined): AccountClaim | undefined {
  if (row === undefined) return undefined;
  return { allowed: true, failures: row.failures, untrustedFailures: row.untrusted_failures, lockedUntil: row.locked_until, startsEpisode: attemptId !== undefined && row.episode_id === attemptId };
}

const claimColumns = ['failures', 'untrusted_failures', 'locked_until', 'episode_id'] as const;

export function createKyselyBruteForceStore(db: Db): BruteForceStore {
  const refused = async (accountKey: string): Promise<AccountClaim> => {
    const row = await db.selectFrom('sign_in_throttle').select(['failures', 'untrusted_failures', 'locked_until']).where('account_key', '=', accountKey).executeTakeFirst();
    return { allowed: false, failures: row?.failures ?? 0, untrustedFailures: row?.untrusted_failures ?? 0, lockedUntil: row?.locked_until ?? 0, startsEpisode: false };
  };
  const counters = kyselyWindowCounters(db);

  return {
    counters,

    async claimUntrusted(accountKey, now, schedule, cap, attemptId) {
      const first = schedule.throttleAfter <= 1;
      const row = await db
        .insertInto('sign_in_throttle')
        .values({
          account_key: accountKey,
          failures: 1,
          untrusted_failures: 1,
          locked_until: first ? now + delayAfter(schedule, 1) : 0,
          episode_id: first ? attemptId : null,
          unlock_token_hash: null,
          unlock_expires_at: null,
          updated_at: now,
        })
        .onConflict((conflict) =>
          conflict
            .column('account_key')
            .doUpdateSet((eb) => ({
              failures: eb('sign_in_throttle.failures', '+', 1),
              untrusted_failures: eb('sign_in_throttle.untrusted_failures', '+', 1),
              locked_until: lockFor(eb, schedule, now),
              // The first claim at or past the threshold in this episode marks it as its own.
              episode_id: eb
                .case()
                .when(eb.and([eb('sign_in_throttle.episode_id', 'is', null), eb(eb('sign_in_throttle.untrusted_failures', '+', 1), '>=', schedule.throttleAfter)]))
                .then(attemptId)
                .else(eb.ref('sign_in_throttle.episode_id'))
                .end(),
              updated_at: now,
            }))
            .where((eb) => eb.and([eb('sign_in_throttle.locked_until', '<=', now), eb('sign_in_throttle.failures', '<', cap)])),
        )
        .returning(claimColumns)
        .executeTakeFirst();
      return claimFrom(row, attemptId) ?? refused(accountKey);
    },

    async claimTrusted(accountKey, now, cap) {
      const row = await db
        .insertInto('sign_in_throttle')
        .values({ account_key: accountKey, failures: 1, untrusted_failures: 0, locked_until: 0, episode_id: null, unlock_token_hash: null, unlock_expires_at: null, updated_at: now })
        .onConflict((conflict) =>
          conflict
            .column('account_key')
            .doUpdateSet((eb) => ({ failures: eb('sign_in_throttle.failures', '+', 1), updated_at: now }))
            .where('sign_in_throttle.failures', '<', cap),
        )
        .returning(claimColumns)
        .executeTakeFirst();
      return claimFrom(row, undefined) ?? refused(accountKey);
    },

    async reset(accountKey) {
      await db.deleteFrom('sign_in_throttle').where('account_key', '=', accountKey).execute();
    },

    async trustedSuccess(accountKey) {
      await db.updateTable('sign_in_throttle').set({ failures: 0 }).where('account_key', '=', accountKey).execute();
    },

    async state(accountKey) {
      const row = await db.selectFrom('sign_in_throttle').select(['failures', 'untrusted_failures', 'locked_until']).where('account_key', '=', accountKey).executeTakeFirst();
      return row === undefined ? undefined : { failures: row.failures, untrustedFailures: row.untrusted_failures, lockedUntil: row.locked_until };
    },

    async saveUnlockToken(accountKey, tokenHash, expiresAt) {
      await db.updateTable('sign_in_throttle').set({ unlock_token_hash: tokenHash, unlock_expires_at: expiresAt }).where('account_key', '=', accountKey).execute();
    },

    async consumeUnlockToken(tokenHash, now) {
      // Deleting the row is the reset; RETURNING tells exactly one caller that it was theirs.
      const row = await db
        .deleteFrom('sign_in_throttle')
        .where('unlock_token_hash', '=', tokenHash)
        .where('unlock_expires_at', '>', now)
        .returning('account_key')
        .executeTakeFirst();
      return row?.account_key;
    },

    prune: () => counters.prune(),
  };
}
