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

export interface Database {
  sessions: SessionsTable;
}
