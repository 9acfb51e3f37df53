// src/accounts/password-flows.ts
// Changing a password (needs the current one), asking for a reset link (same answer whether or
// not the address has an account), and completing a reset with the link's single-use token.
// Ending sessions afterwards is the web layer's job (it knows which session is the current one).

import { AppError } from '../errors/app-error.js';
import { passwordChangedMessage, passwordResetMessage } from '../email/templates.js';
import { assertPasswordAcceptable, requirePasswordInput, where, type FlowContext } from './context.js';
import { normaliseEmail } from './email-address.js';
import { consumeToken, findLiveToken, issueToken } from './tokens.js';
import { findUserByEmail, findUserById, toPublicUser } from './users.js';
import type { PublicUser, RequestMeta } from './types.js';

export async function changePassword(ctx: FlowContext, userId: string, input: { currentPassword: string; newPassword: string }, meta: RequestMeta): Promise<void> {
  const user = await findUserById(ctx.db, userId);
  if (user === undefined || user.disabled_at !== null) throw new AppError('NOT_FOUND');
  const current = (input as { currentPassword?: unknown } | undefined)?.currentPassword;
  const verification = typeof current === 'string' && current !== '' && current.length <= 4096 ? await ctx.passwords.verify(current, user.password_hash) : { valid: false };
  if (!verification.valid) {
    await ctx.audit.record({ type: 'password_changed', outcome: 'failure', actorId: userId, subjectId: userId, ...where(meta), detail: { reason: 'wrong_current_password' } });
    throw new AppError('INVALID_CREDENTIALS', { fields: { currentPassword: 'The current password is not correct. Type it again.' } });
  }
  const newPassword = requirePasswordInput((input as { newPassword?: unknown }).newPassword, 'newPassword');
  await assertPasswordAcceptable(ctx.policy, newPassword, { email: user.email, displayName: user.display_name }, 'newPassword');
  const hash = await ctx.passwords.hash(newPassword);
  const now = ctx.now();
  await ctx.db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set({ password_hash: hash, password_changed_at: now, updated_at: now }).where('id', '=', userId).execute();
    // A reset link asked for before the change must not undo it.
    await trx.deleteFrom('one_time_tokens').where('user_id', '=', userId).where('purpose', '=', 'reset_password').where('used_at', 'is', null).execute();
  });
  ctx.deliver(passwordChangedMessage(ctx.templates, { to: user.email, displayName: user.display_name, how: 'changed' }), 'password_changed');
  await ctx.audit.record({ type: 'password_changed', outcome: 'success', actorId: userId, subjectId: userId, ...where(meta), detail: null });
}

/** Sends a reset link when the address has an enabled account; otherwise does nothing, visibly the same. */
export async function requestPasswordReset(ctx: FlowContext, emailInput: string, meta: RequestMeta, actorId: string | null = null): Promise<void> {
  const email = normaliseEmail(emailInput);
  const user = email === undefined ? undefined : await findUserByEmail(ctx.db, email);
  if (user === undefined || user.disabled_at !== null) {
    const reason = user === undefined ? 'unknown_email' : 'disabled';
    await ctx.audit.record({ type: 'password_reset_requested', outcome: 'failure', actorId, subjectId: user?.id ?? null, ...where(meta), detail: { reason } });
    return;
  }
  await sendResetToken(ctx, user.id, user.email, user.display_name, meta, actorId);
}

export async function sendResetToken(ctx: FlowContext, userId: string, email: string, displayName: string | null, meta: RequestMeta, actorId: string | null): Promise<void> {
  // Issuing deletes the previous unused reset token: only the newest link works.
  const token = await ctx.db.transaction().execute((trx) => issueToken(trx, { userId, purpose: 'reset_password', now: ctx.now() }));
  ctx.deliver(passwordResetMessage(ctx.templates, { to: email, displayName, token }), 'reset_password');
  await ctx.audit.record({ type: 'password_reset_requested', outcome: 'success', actorId: actorId ?? userId, subjectId: userId, ...where(meta), detail: actorId === null ? null : { byAdmin: true } });
}

export async function resetPassword(ctx: FlowContext, input: { token: string; newPassword: string }, meta: RequestMeta): Promise<PublicUser> {
  const token = (input as { token?: unknown } | undefined)?.token;
  const now = ctx.now();
  // Looked at first without spending it: a new password the policy refuses leaves the link usable.
  const live = await findLiveToken(ctx.db, token, ['reset_password'], now);
  const user = live === undefined ? undefined : await findUserById(ctx.db, live.userId);
  if (user === undefined || user.disabled_at !== null) {
    await ctx.audit.record({ type: 'password_reset_completed', outcome: 'failure', actorId: null, subjectId: user?.id ?? null, ...where(meta), detail: { reason: user === undefined ? 'invalid_token' : 'disabled' } });
    throw new AppError('TOKEN_INVALID');
  }
  const newPassword = requirePasswordInput((input as { newPassword?: unknown }).newPassword, 'newPassword');
  await assertPasswordAcceptable(ctx.policy, newPassword, { email: user.email, displayName: user.display_name }, 'newPassword');
  const hash = await ctx.passwords.hash(newPassword);
  const changedAt = ctx.now();
  const spent = await ctx.db.transaction().execute(async (trx) => {
    const consumed = await consumeToken(trx, token, ['reset_password'], changedAt);
    if (consumed?.userId !== user.id) return false;
    // Following the link proved control of the inbox, which is what verification asks.
    await trx
      .updateTable('users')
      .set({ password_hash: hash, password_changed_at: changedAt, updated_at: changedAt, email_verified_at: user.email_verified_at ?? changedAt })
      .where('id', '=', user.id)
      .execute();
    return true;
  });
  if (!spent) {
    // Another request used the link between the look and the spend.
    await ctx.audit.record({ type: 'password_reset_completed', outcome: 'failure', actorId: null, subjectId: user.id, ...where(meta), detail: { reason: 'invalid_token' } });
    throw new AppError('TOKEN_INVALID');
  }
  ctx.deliver(passwordChangedMessage(ctx.templates, { to: user.email, displayName: user.display_name, how: 'reset' }), 'password_reset');
  await ctx.audit.record({ type: 'password_reset_completed', outcome: 'success', actorId: user.id, subjectId: user.id, ...where(meta), detail: null });
  const updated = await findUserById(ctx.db, user.id);
  if (updated === undefined) throw new AppError('TOKEN_INVALID');
  return toPublicUser(updated);
}
