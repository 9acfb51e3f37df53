// src/storage/brute-force/kysely-brute-force-store.ts
// The sign-in throttle's state in the database (SQLite or PostgreSQL). Each claim is a single
// INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING: the check and the count happen in one
// statement, so no interleaving of requests or instances can evaluate an attempt it should refuse.

import type { Expression, ExpressionBuilder } from 'kysely';
import type { Db } from '../database.js';
import type { Database } from '../schema.js';
import { kyselyWindowCounters } from '../rate-limit/kysely-rate-limit-store.js';
import { preparedQuery } from '../prepared-query.js';
import { delayAfter, type AccountClaim, type BruteForceStore, type DelaySchedule } from './port.js';

type Eb = ExpressionBuilder<Database, 'sign_in_throttle'>;

/**
 * locked_until for the count the claim is about to make (untrusted_failures + 1), as a CASE over
 * the schedule's steps: the schedule is short (from the first delay to the cap), and plain
 * comparisons work on both engines where pow() does not. `lockedAt[i]` is the lock's end after
 * the i-th step (now + its delay, bound), the last one the cap's.
 */
function lockFor(eb: Eb, schedule: DelaySchedule, lockedAt: readonly number[]): Expression<number> {
  const next = eb('sign_in_throttle.untrusted_failures', '+', 1);
  let builder = eb.case().when(next, '<', schedule.throttleAfter).then(eb.ref('sign_in_throttle.locked_until'));
  steppedFailures(schedule).forEach((failures, step) => {
    builder = builder.when(next, '=', failures).then(eb.val(lockedAt.at(step) as number));
  });
  return builder.else(eb.val(lockedAt.at(-1) as number)).end();
}

/** The failure counts at which the delay is still below the cap, from the first delay on. */
function steppedFailures(schedule: DelaySchedule): number[] {
  const steps: number[] = [];
  for (let failures = schedule.throttleAfter; delayAfter(schedule, failures) < schedule.maxDelayMs; failures += 1) steps.push(failures);
  return steps;
}

/**
 * The untrusted claim's statement for one schedule, prepared once per database handle
 * (storage/prepared-query.ts): a sign-in's statements are built on the event loop that the
 * password hashing shares two cores with (issue 8). Arguments, all bound: the account, now, the
 * attempt's id, the first claim's lock and episode, the cap, then the lock's end for each step.
 */
function untrustedClaim(schedule: DelaySchedule) {
  const steps = steppedFailures(schedule).length + 1;
  return preparedQuery(6 + steps, (db: Db, accountKey: string, now: number, attemptId: string, firstLockedUntil: number, firstEpisode: string | null, cap: number, ...lockedAt: number[]) =>
    db
      .insertInto('sign_in_throttle')
      .values({
        account_key: accountKey,
        failures: 1,
        untrusted_failures: 1,
        locked_until: firstLockedUntil,
        episode_id: firstEpisode,
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
            locked_until: lockFor(eb, schedule, lockedAt),
            // The first claim at or past the threshold in this episode marks it as its own.
            episode_id: eb
              .case()
              .when(eb.and([eb('sign_in_throttle.episode_id', 'is', null), eb(eb('sign_in_throttle.untrusted_failures', '+', 1), '>=', schedule.throttleAfter)]))
              .then(eb.val(attemptId))
              .else(eb.ref('sign_in_throttle.episode_id'))
              .end(),
            updated_at: now,
          }))
          .where((eb) => eb.and([eb('sign_in_throttle.locked_until', '<=', now), eb('sign_in_throttle.failures', '<', cap)])),
      )
      .returning(claimColumns),
  );
}

const trustedClaim = preparedQuery(3, (db: Db, accountKey: string, now: number, cap: number) =>
  db
    .insertInto('sign_in_throttle')
    .values({ account_key: accountKey, failures: 1, untrusted_failures: 0, locked_until: 0, episode_id: null, unlock_token_hash: null, unlock_expires_at: null, updated_at: now })
    .onConflict((conflict) =>
      conflict
        .column('account_key')
        .doUpdateSet((eb) => ({ failures: eb('sign_in_throttle.failures', '+', 1), updated_at: now }))
        .where('sign_in_throttle.failures', '<', cap),
    )
    .returning(claimColumns),
);

const throttleState = preparedQuery(1, (db: Db, accountKey: string) => db.selectFrom('sign_in_throttle').select(['failures', 'untrusted_failures', 'locked_until']).where('account_key', '=', accountKey));
const forgetThrottle = preparedQuery(1, (db: Db, accountKey: string) => db.deleteFrom('sign_in_throttle').where('account_key', '=', accountKey));

type ClaimRow = { failures: number; untrusted_failures: number; locked_until: number; episode_id: string | null };

function claimFrom(row: ClaimRow | undefined, attemptId: string | undefined): AccountClaim | undefined {
  if (row === undefined) return undefined;
  return { allowed: true, failures: row.failures, untrustedFailures: row.untrusted_failures, lockedUntil: row.locked_until, startsEpisode: attemptId !== undefined && row.episode_id === attemptId };
}

const claimColumns = ['failures', 'untrusted_failures', 'locked_until', 'episode_id'] as const;

export function createKyselyBruteForceStore(db: Db): BruteForceStore {
  const refused = async (accountKey: string): Promise<AccountClaim> => {
    const [row] = await throttleState(db, accountKey);
    return { allowed: false, failures: row?.failures ?? 0, untrustedFailures: row?.untrusted_failures ?? 0, lockedUntil: row?.locked_until ?? 0, startsEpisode: false };
  };
  const counters = kyselyWindowCounters(db);
  // One prepared statement per schedule (the configuration's, in practice only ever one).
  const untrustedClaims = new Map<string, ReturnType<typeof untrustedClaim>>();
  const untrustedClaimFor = (schedule: DelaySchedule) => {
    const key = `${schedule.throttleAfter}/${schedule.baseDelayMs}/${schedule.maxDelayMs}`;
    let claim = untrustedClaims.get(key);
    if (claim === undefined) {
      claim = untrustedClaim(schedule);
      untrustedClaims.set(key, claim);
    }
    return claim;
  };

  return {
    counters,

    async claimUntrusted(accountKey, now, schedule, cap, attemptId) {
      const first = schedule.throttleAfter <= 1;
      const lockedAt = [...steppedFailures(schedule).map((failures) => now + delayAfter(schedule, failures)), now + schedule.maxDelayMs];
      const [row] = await untrustedClaimFor(schedule)(db, accountKey, now, attemptId, first ? now + delayAfter(schedule, 1) : 0, first ? attemptId : null, cap, ...lockedAt);
      return claimFrom(row, attemptId) ?? refused(accountKey);
    },

    async claimTrusted(accountKey, now, cap) {
      const [row] = await trustedClaim(db, accountKey, now, cap);
      return claimFrom(row, undefined) ?? refused(accountKey);
    },

    async reset(accountKey) {
      await forgetThrottle(db, accountKey);
    },

    async trustedSuccess(accountKey) {
      await db.updateTable('sign_in_throttle').set({ failures: 0 }).where('account_key', '=', accountKey).execute();
    },

    async state(accountKey) {
      const [row] = await throttleState(db, accountKey);
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
