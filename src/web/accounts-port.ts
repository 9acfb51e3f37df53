// src/web/accounts-port.ts
// What the web layer needs from the domain and the session store, as narrow interfaces: the
// routes depend on these, never on the adapters, so a fake can stand in for unit-level checks.

import type { StoredSessionSummary } from '../storage/sessions/kysely-session-store.js';

/** Who asked, for the audit trail (docs/accounts-interface.md). */
export interface RequestMeta {
  readonly ip: string;
  readonly userAgent: string;
}

export type Role = 'user' | 'admin';

export interface PublicUser {
  readonly id: string;
  readonly email: string;
  readonly displayName: string | null;
  readonly role: Role;
  readonly emailVerified: boolean;
  readonly disabled: boolean;
  readonly createdAt: number;
  readonly passwordChangedAt: number;
}

export interface AuditEvent {
  readonly id: string;
  readonly at: number;
  readonly type: string;
  readonly outcome: 'success' | 'failure';
  readonly actorId: string | null;
  readonly subjectId: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly detail: Readonly<Record<string, string | number | boolean>> | null;
}

/** The AccountService operations the pages and the API call (the contract's names and shapes). */
export interface AccountOperations {
  signUp(input: { email: string; password: string; displayName?: string }, meta: RequestMeta): Promise<void>;
  verifyEmail(token: string, meta: RequestMeta): Promise<PublicUser>;
  resendVerification(userId: string, meta: RequestMeta): Promise<void>;
  signIn(input: { email: string; password: string }, meta: RequestMeta): Promise<PublicUser>;
  reauthenticate(userId: string, password: string, meta: RequestMeta): Promise<void>;
  getUser(userId: string): Promise<PublicUser | undefined>;
  updateProfile(userId: string, input: { displayName: string | null }, meta: RequestMeta): Promise<PublicUser>;
  changeEmail(userId: string, newEmail: string, meta: RequestMeta): Promise<void>;
  changePassword(userId: string, input: { currentPassword: string; newPassword: string }, meta: RequestMeta): Promise<void>;
  requestPasswordReset(email: string, meta: RequestMeta): Promise<void>;
  resetPassword(input: { token: string; newPassword: string }, meta: RequestMeta): Promise<PublicUser>;
  deleteAccount(userId: string, meta: RequestMeta): Promise<void>;
  listActivity(userId: string, limit: number): Promise<AuditEvent[]>;
  recordEvent(event: Omit<AuditEvent, 'id' | 'at'>): Promise<void>;
  listUsers(query: { search?: string; page: number; pageSize: number }): Promise<{ users: PublicUser[]; total: number }>;
  setDisabled(adminId: string, userId: string, disabled: boolean, meta: RequestMeta): Promise<void>;
  sendResetLink(adminId: string, userId: string, meta: RequestMeta): Promise<void>;
}

/** The session store's per-user operations (storage/sessions/kysely-session-store.ts). */
export interface UserSessions {
  listForUser(userId: string): Promise<StoredSessionSummary[]>;
  revokeForUser(userId: string, hashedId: string): Promise<boolean>;
  revokeAllForUser(userId: string, exceptSid?: string): Promise<number>;
}
