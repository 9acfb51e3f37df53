// src/storage/brute-force/port.ts
// What the sign-in throttle (security/brute-force.ts) needs from storage, and which operations must
// be atomic. Two adapters: the database (kysely-brute-force-store.ts) and Redis
// (redis-brute-force-store.ts); every instance of a deployment shares one of them.

import type { WindowCounters } from '../rate-limit/kysely-rate-limit-store.js';

/** The delay schedule, precomputed once from the configuration. */
export interface DelaySchedule {
  /** Consecutive failures before the first delay. */
  readonly throttleAfter: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** After `failures` consecutive failures, how long before the next attempt from an unknown browser. */
export function delayAfter(schedule: DelaySchedule, failures: number): number {
  if (failures < schedule.throttleAfter) return 0;
  const doublings = failures - schedule.throttleAfter;
  // 2^31 ms is 24 days: beyond any cap, and still an exact integer.
  return doublings >= 31 ? schedule.maxDelayMs : Math.min(schedule.maxDelayMs, schedule.baseDelayMs * 2 ** doublings);
}

export interface AccountClaim {
  /** Whether this attempt may be evaluated (the password hashed and compared). */
  readonly allowed: boolean;
  /** Consecutive failures counted so far; an allowed attempt is already counted as one. */
  readonly failures: number;
  /** Of those, the ones from unknown browsers since the last full reset: what the delay grows with. */
  readonly untrustedFailures: number;
  /** No attempt from an unknown browser is evaluated before this time (ms; 0 when not throttled). */
  readonly lockedUntil: number;
  /** This attempt began the throttling episode: if it fails, the owner gets the one email. */
  readonly startsEpisode: boolean;
}

export interface BruteForceStore {
  /**
   * An attempt from a browser without a valid device cookie. Atomic: allowed only when the account
   * is not in a delay and has fewer than `cap` failures; the attempt is counted as a failure before
   * it is evaluated (a success resets the count), and the delay for the new count of unknown-browser
   * failures starts now. So concurrent attempts, from any instance, can never evaluate more than
   * `cap` or skip a delay.
   */
  claimUntrusted(accountKey: string, now: number, schedule: DelaySchedule, cap: number, attemptId: string): Promise<AccountClaim>;
  /** An attempt from a trusted browser: delays do not apply, the cap does (counted the same way). */
  claimTrusted(accountKey: string, now: number, cap: number): Promise<AccountClaim>;
  /** A success from an unknown browser, or an unlock: everything ends, and any unlock link dies. */
  reset(accountKey: string): Promise<void>;
  /**
   * A success from a trusted browser: the consecutive count (NIST's) starts again, but the delay
   * for unknown browsers, its growth and the episode stay: the owner signing in from their usual
   * browser must not hand an attacker a fresh allowance.
   */
  trustedSuccess(accountKey: string): Promise<void>;
  /** The current count and delay (for the audit trail and for tests); undefined when clean. */
  state(accountKey: string): Promise<{ failures: number; untrustedFailures: number; lockedUntil: number } | undefined>;
  /** Keeps the SHA-256 of the episode's unlock link, replacing any earlier one. */
  saveUnlockToken(accountKey: string, tokenHash: string, expiresAt: number): Promise<void>;
  /**
   * Spends an unlock link: resets the account it belongs to and returns its key; undefined when
   * the link is unknown, used, replaced or expired. Atomic: of two clicks, one wins.
   */
  consumeUnlockToken(tokenHash: string, now: number): Promise<string | undefined>;
  /** Per-address and per-device failure counters (fixed windows). */
  readonly counters: WindowCounters;
  /** Deletes expired counters and links where the backend does not expire them itself. */
  prune(now: number): Promise<number>;
}
