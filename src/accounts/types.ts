// src/accounts/types.ts
// The shapes the account service shares with its callers (docs/accounts-interface.md).

import type { Role } from '../storage/schema.js';
import type { UserRow } from './users.js';

export type { Role } from '../storage/schema.js';

/** Who asked and from where, for the audit trail. */
export interface RequestMeta {
  readonly ip: string;
  readonly userAgent: string;
}

/** A user as the rest of the application sees it: never the password hash. */
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

export type AuditDetail = Readonly<Record<string, string | number | boolean>>;

export interface AuditEvent {
  readonly id: string;
  readonly at: number;
  readonly type: string;
  readonly outcome: 'success' | 'failure';
  readonly actorId: string | null;
  readonly subjectId: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  /** Never a secret: keys that look like one are dropped on the way in. */
  readonly detail: AuditDetail | null;
}

export type NewAuditEvent = Omit<AuditEvent, 'id' | 'at'>;

/** One row of `portcullis user import`: a user and a bcrypt hash from another system. */
export interface ImportedUser {
  readonly email: string;
  /** $2a$, $2b$ or $2y$ bcrypt; upgraded to the configured scheme at the user's next sign-in. */
  readonly passwordHash: string;
  readonly displayName?: string | null | undefined;
  readonly role?: Role | undefined;
  readonly emailVerified?: boolean | undefined;
}

export interface CreateUserInput {
  readonly email: string;
  readonly password: string;
  readonly displayName?: string | null | undefined;
  readonly role: Role;
  readonly emailVerified: boolean;
}

/**
 * An account already read by normalised email in this request, so sign-in need not read it again
 * (issue 8: every statement of a sign-in comes out of the cores that hash passwords). Used only
 * when its email is the one being signed in; `row` undefined means there is no such account.
 */
export interface AccountLookup {
  readonly email: string;
  readonly row: UserRow | undefined;
}

export interface AccountService {
  signUp(input: { email: string; password: string; displayName?: string }, meta: RequestMeta): Promise<void>;
  verifyEmail(token: string, meta: RequestMeta): Promise<PublicUser>;
  resendVerification(userId: string, meta: RequestMeta): Promise<void>;
  /** `lookedUp`: the account the caller already read for this address (the sign-in throttle does). */
  signIn(input: { email: string; password: string }, meta: RequestMeta, lookedUp?: AccountLookup): Promise<PublicUser>;
  reauthenticate(userId: string, password: string, meta: RequestMeta): Promise<void>;
  getUser(userId: string): Promise<PublicUser | undefined>;
  updateProfile(userId: string, input: { displayName: string | null }, meta: RequestMeta): Promise<PublicUser>;
  changeEmail(userId: string, newEmail: string, meta: RequestMeta): Promise<void>;
  changePassword(userId: string, input: { currentPassword: string; newPassword: string }, meta: RequestMeta): Promise<void>;
  requestPasswordReset(email: string, meta: RequestMeta): Promise<void>;
  resetPassword(input: { token: string; newPassword: string }, meta: RequestMeta): Promise<PublicUser>;
  deleteAccount(userId: string, meta: RequestMeta): Promise<void>;
  listActivity(userId: string, limit: number): Promise<AuditEvent[]>;
  recordEvent(event: NewAuditEvent): Promise<void>;
  listUsers(query: { search?: string; page: number; pageSize: number }): Promise<{ users: PublicUser[]; total: number }>;
  setDisabled(adminId: string, userId: string, disabled: boolean, meta: RequestMeta): Promise<void>;
  sendResetLink(adminId: string, userId: string, meta: RequestMeta): Promise<void>;
  createUser(input: CreateUserInput): Promise<PublicUser>;
  importUsers(rows: readonly ImportedUser[]): Promise<{ imported: number; skipped: number }>;
}
