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
  /** Place in the hash chain (observability/audit-chain.ts); null only for rows not yet sealed. */
  seq: number | null;
  /** HMAC-SHA-256 over the row's canonical content and the previous row's hash (hex). */
  hash: string | null;
  /** Salt of the commitment to ip, user agent and detail; null once the row is anonymised. */
  personal_salt: string | null;
  /** SHA-256 over the salt and the personal fields: they can be cleared and the chain still holds. */
  personal_commitment: string | null;
}

/** The audit chain's single state row (id 1): the anchor pruning moves, and the head. */
export interface AuditChainTable {
  id: number;
  anchor_seq: number;
  anchor_hash: string;
  anchor_at: number | null;
  head_seq: number;
  head_hash: string;
  legacy_sealed: number;
  pruned_total: number;
  state_mac: string | null;
  updated_at: number;
}

/** Security signals counted per hour for the dashboard (observability/security-signals.ts). */
export interface SecurityRollupTable {
  /** The hour's start, ms. */
  hour: number;
  metric: string;
  label: string;
  events: number;
}

/** Failed authentication per hour and network (IPv4 /24, IPv6 /48). */
export interface FailureSourcesTable {
  hour: number;
  network: string;
  failures: number;
}

/** Content-Security-Policy violation reports (web/routes/csp-reports.ts). */
export interface CspReportsTable {
  id: string;
  at: number;
  directive: string;
  disposition: string;
  document_url: string;
  blocked_url: string | null;
  source_file: string | null;
  line_number: number | null;
  column_number: number | null;
  sample: string | null;
  network: string | null;
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
  /**
   * Consecutive failures from unknown browsers: what the delays grow with. A trusted browser's
   * success does not reset it (the attacker gains nothing from the owner's sign-ins).
   */
  untrusted_failures: number;
  /** No attempt from an unknown browser is evaluated before this time, ms. */
  locked_until: number;
  /** The attempt that started this throttling episode (it sends the one email), or null. */
  episode_id: string | null;
  /** SHA-256 of the emailed unlock link's token; the token itself is never stored. */
  unlock_token_hash: string | null;
  unlock_expires_at: number | null;
  updated_at: number;
}

/** A user's authenticator-app seed: sealed (AES-256-GCM), confirmed once a valid code came back. */
export interface MfaTotpTable {
  user_id: string;
  /** security/encryption.ts's sealed form, associated data `totp:<user id>`; never the seed itself. */
  sealed_secret: string;
  confirmed_at: number | null;
  /** The last accepted 30-second step; codes for it or earlier steps are refused. */
  last_used_step: number | null;
  created_at: number;
}

export interface RecoveryCodesTable {
  id: string;
  user_id: string;
  /** HMAC-SHA-256 (hex) of the canonical code under the 'recovery-code' key; never the code. */
  code_hash: string;
  used_at: number | null;
  created_at: number;
}

export interface PasskeysTable {
  id: string;
  user_id: string;
  /** base64url credential id, unique across all accounts. */
  credential_id: string;
  /** base64url COSE public key. */
  public_key: string;
  /** The authenticator's signature counter as last seen; a use must raise it (or both stay 0). */
  counter: number;
  /** JSON array of transport hints, or null. */
  transports: string | null;
  name: string;
  device_type: string;
  /** 0 or 1. */
  backed_up: number;
  created_at: number;
  last_used_at: number | null;
}

export type WebAuthnChallengePurpose = 'register' | 'second_factor' | 'sign_in';

export interface WebAuthnChallengesTable {
  challenge: string;
  /** SHA-256 of the session id the challenge was issued to. */
  session_key: string;
  purpose: WebAuthnChallengePurpose;
  user_id: string | null;
  expires_at: number;
}

/** One wrong second-factor code: the per-account limit counts these over a sliding window. */
export interface MfaFailuresTable {
  id: string;
  user_id: string;
  at: number;
}

export interface Database {
  sessions: SessionsTable;
  users: UsersTable;
  one_time_tokens: OneTimeTokensTable;
  audit_events: AuditEventsTable;
  audit_chain: AuditChainTable;
  security_rollup: SecurityRollupTable;
  failure_sources: FailureSourcesTable;
  csp_reports: CspReportsTable;
  mfa_totp: MfaTotpTable;
  recovery_codes: RecoveryCodesTable;
  passkeys: PasskeysTable;
  webauthn_challenges: WebAuthnChallengesTable;
  mfa_failures: MfaFailuresTable;
  rate_limit_counters: RateLimitCountersTable;
  sign_in_throttle: SignInThrottleTable;
}
