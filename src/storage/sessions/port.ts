// src/storage/sessions/port.ts
// The session store every adapter implements: express-session's Store for the middleware, plus the
// per-user operations the web layer uses (list, revoke one, revoke all) and pruning. Both
// KyselySessionStore (database) and RedisSessionStore (Redis) satisfy it, with the same rules:
//   - entries are keyed by SHA-256 of the session id, never the id itself;
//   - idle and absolute limits are enforced on the server, whatever the cookie says;
//   - a session deleted (signed out, revoked, expired) is never written back by a request that
//     was still in flight when it ended: saving a session loaded from the store, or already
//     written by this request, only updates.

import type session from 'express-session';
import type { StoredSessionSummary } from './kysely-session-store.js';

export type { StoredSessionSummary } from './kysely-session-store.js';

export interface UserSessionOperations {
  /** The user's live sessions, most recently used first. */
  listForUser(userId: string): Promise<StoredSessionSummary[]>;
  /** Ends one of a user's sessions by its hashed id; false when it was not theirs or not there. */
  revokeForUser(userId: string, hashedId: string): Promise<boolean>;
  /** Ends every session of a user, except the one whose raw id is given. Returns how many ended. */
  revokeAllForUser(userId: string, exceptSid?: string): Promise<number>;
}

export interface SessionStorePort extends session.Store, UserSessionOperations {
  /** Deletes expired entries where the backend does not expire them itself; returns how many. */
  pruneExpired(): Promise<number>;
}
