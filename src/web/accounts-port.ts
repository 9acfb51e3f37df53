// src/web/accounts-port.ts
// What the web layer needs from the domain and the session store, as narrow interfaces: the
// routes depend on these, never on the adapters, so a fake can stand in for unit-level checks.

import type { AccountService } from '../accounts/types.js';
import type { StoredSessionSummary } from '../storage/sessions/kysely-session-store.js';

export type { AuditEvent, PublicUser, RequestMeta, Role } from '../accounts/types.js';

/**
 * The AccountService operations the pages and the API call (docs/accounts-interface.md): all of
 * them but the CLI's, so the web layer cannot create or import users.
 */
export type AccountOperations = Omit<AccountService, 'createUser' | 'importUsers'>;

/** The session store's per-user operations (storage/sessions/kysely-session-store.ts). */
export interface UserSessions {
  listForUser(userId: string): Promise<StoredSessionSummary[]>;
  revokeForUser(userId: string, hashedId: string): Promise<boolean>;
  revokeAllForUser(userId: string, exceptSid?: string): Promise<number>;
}
