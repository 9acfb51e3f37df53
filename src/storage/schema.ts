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

export interface Database {
  sessions: SessionsTable;
  users: UsersTable;
  one_time_tokens: OneTimeTokensTable;
  audit_events: AuditEventsTable;
}
