// src/accounts/profile.ts
// A user's own account: reading it, renaming it, its recent security activity, and deleting it.
//
// Deletion removes the user's data: the user row, its tokens (ON DELETE CASCADE) and its sessions
// (sessions.user_id has no foreign key, so they are deleted by user_id in the same transaction).
// The audit trail keeps its events, because a security record that a deleted account can erase is
// no record, but strips the personal data from them: IP addresses, user agents and details go;
// what stays is event type, time, outcome and a random id that no longer points at anyone. The
// deletion itself is recorded the same way, without the requester's IP or user agent.

import { AppError } from '../errors/app-error.js';
import { cleanDisplayName, where, type FlowContext } from './context.js';
import { findUserById, toPublicUser } from './users.js';
import type { AuditEvent, NewAuditEvent, PublicUser, RequestMeta } from './types.js';

export async function getUser(ctx: FlowContext, userId: string): Promise<PublicUser | undefined> {
  if (typeof userId !== 'string') return undefined;
  return ctx.readUser(userId);
}

export async function updateProfile(ctx: FlowContext, userId: string, input: { displayName: string | null }, meta: RequestMeta): Promise<PublicUser> {
  const displayName = cleanDisplayName((input as { displayName?: unknown } | undefined)?.displayName);
  const result = await ctx.db.updateTable('users').set({ display_name: displayName, updated_at: ctx.now() }).where('id', '=', userId).where('disabled_at', 'is', null).executeTakeFirst();
  if (result.numUpdatedRows !== 1n) throw new AppError('NOT_FOUND');
  await ctx.audit.record({ type: 'profile_updated', outcome: 'success', actorId: userId, subjectId: userId, ...where(meta), detail: null });
  const user = await findUserById(ctx.db, userId);
  if (user === undefined) throw new AppError('NOT_FOUND');
  return toPublicUser(user);
}

export async function deleteAccount(ctx: FlowContext, userId: string, _meta: RequestMeta): Promise<void> {
  const deleted = await ctx.db.transaction().execute(async (trx) => {
    const result = await trx.deleteFrom('users').where('id', '=', userId).executeTakeFirst();
    if (result.numDeletedRows !== 1n) return false;
    await trx.deleteFrom('sessions').where('user_id', '=', userId).execute();
    await ctx.audit.anonymise(userId, trx);
    await ctx.audit.record({ type: 'account_deleted', outcome: 'success', actorId: userId, subjectId: userId, ip: null, userAgent: null, detail: null }, trx);
    return true;
  });
  if (!deleted) throw new AppError('NOT_FOUND');
  await ctx.revokeSessions(userId);
}

export function listActivity(ctx: FlowContext, userId: string, limit: number): Promise<AuditEvent[]> {
  return ctx.audit.listForSubject(userId, limit);
}

/** For events only the web layer sees (sign-out, a session revoked, a refused cross-site request). */
export async function recordEvent(ctx: FlowContext, event: NewAuditEvent): Promise<void> {
  const type = (event as { type?: unknown } | undefined)?.type;
  if (typeof type !== 'string' || !/^[a-z][a-z0-9_.]{0,63}$/.test(type)) throw new Error('recordEvent: type must be a lower_snake name');
  await ctx.audit.record({
    type,
    outcome: event.outcome === 'success' ? 'success' : 'failure',
    actorId: typeof event.actorId === 'string' ? event.actorId : null,
    subjectId: typeof event.subjectId === 'string' ? event.subjectId : null,
    ip: typeof event.ip === 'string' ? event.ip : null,
    userAgent: typeof event.userAgent === 'string' ? event.userAgent : null,
    detail: event.detail,
  });
}
