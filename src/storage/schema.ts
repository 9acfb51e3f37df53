// src/storage/schema.ts
// Table types for Kysely: the schema is the source of truth for rows. Times are integer
// milliseconds since the epoch so the same queries work on SQLite and PostgreSQL.

export interface SessionsTable {
  /** SHA-256 of the session id: the database never holds a usable session token. */
  id: string;
  user_id: string | null;
  data: string;
  created_at: number;
  last_seen_at: number;
  idle_expires_at: number;
  absolute_expires_at: number;
  ip: string | null;
  user_agent: string | null;
}

export type Role = 'user' | 'admin';
export type TokenPurpose = 'verify_email' | 'reset_password' | 'change_email';

export interface UsersTable {
  /** A random UUID. */
  id: string;
  /** Normalised: trimmed, NFKC, lower-case; unique. */
  email: string;
  display_name: string | null;
  /** Self-describing hash string (see accounts/passwords/hash-format.ts); never a password. */
  password_hash: string;
  role: Role;
  email_verified_at: number | null;
  disabled_at: number | null;
  created_at: number;
  password_changed_at: number;
  updated_at: number;
}

export interface OneTimeTokensTable {
  /** SHA-256 (hex) of the token sent by email; the token itself is never stored. */
  token_hash: string;
  purpose: TokenPurpose;
  user_id: string;
  /** For change_email: the address that becomes the account's once the link is followed. */
  new_email: string | null;
  expires_at: number;
  used_at: number | null;
  created_at: number;
}

export interface AuditEventsTable {
  id: string;
  at: number;
  type: string;
  outcome: 'success' | 'failure';
  actor_id: string | null;
  subject_id: string | null;
  ip: string | null;
  user_agent: string | null;
  /** JSON object of strings, numbers and booleans; never a secret. */
  detail: string | null;
}

/**
 * Fixed-window counters: express-rate-limit's hits and the sign-in throttle's per-address and
 * per-device failures, when there is no Redis. Keys carry their limiter's prefix.
 */
export interface RateLimitCountersTable {
  key: string;
  hits: number;
  /** When the window ends and the count starts again, ms. */
  reset_at: number;
}

/** Consecutive sign-in failures per account (security/brute-force.ts), when there is no Redis. */
export interface SignInThrottleTable {
  /** The user id, or `second-factor:` + the user id for the MFA step. */
  account_key: string;
  /** Consecutive failures since the last success or unlock, each counted before it is evaluated. */
  failures: number;
  /** No attempt from an unknown browser is evaluated before this time, ms. */
  locked_until: number;
  /** The attempt that started this throttling episode (it sends the one email), or null. */
  episode_id: string | null;
  /** SHA-256 of the emailed unlock link's token; the token itself is never stored. */
  unlock_token_hash: string | null;
  unlock_expires_at: number | null;
  updated_at: number;
}

export interface Database {
  sessions: SessionsTable;
  users: UsersTable;
  one_time_tokens: OneTimeTokensTable;
  audit_events: AuditEventsTable;
  rate_limit_counters: RateLimitCountersTable;
  sign_in_throttle: SignInThrottleTable;
}
