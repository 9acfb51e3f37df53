// src/accounts/registration.ts
// Sign-up, email verification (and resending it), and moving an account to a new address. Sign-up
// answers the same whether or not the address has an account: the work done is the same (policy,
// one hash, one email in the background), only the email differs.

import { randomUUID } from 'node:crypto';
import { AppError } from '../errors/app-error.js';
import { confirmEmailChangeMessage, emailChangeRequestedMessage, signUpAttemptMessage, verifyEmailMessage } from '../email/templates.js';
import { assertPasswordAcceptable, cleanDisplayName, invalid, requireEmail, requirePasswordInput, where, type FlowContext } from './context.js';
import { consumeToken, issueToken } from './tokens.js';
import { findUserByEmail, findUserById, toPublicUser } from './users.js';
import type { PublicUser, RequestMeta } from './types.js';

export async function signUp(ctx: FlowContext, input: { email: string; password: string; displayName?: string }, meta: RequestMeta): Promise<void> {
  // Typed as an object, but a caller may pass anything: read it as unknown.
  const raw: unknown = input;
  const fields = (typeof raw === 'object' && raw !== null ? raw : {}) as { email?: unknown; password?: unknown; displayName?: unknown };
  const email = requireEmail(fields.email);
  const displayName = cleanDisplayName(fields.displayName);
  const password = requirePasswordInput(fields.password, 'password');
  // The policy and the hash come before the existence check, so both paths cost the same.
  await assertPasswordAcceptable(ctx.policy, password, { email, displayName }, 'password');
  const passwordHash = await ctx.passwords.hash(password);
  const now = ctx.now();

  const existing = await findUserByEmail(ctx.db, email);
  if (existing !== undefined) {
    await attemptOnExistingAddress(ctx, existing.id, existing.email, existing.display_name, meta);
    return;
  }
  const id = randomUUID();
  let token: string;
  try {
    token = await ctx.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('users')
        .values({ id, email, display_name: displayName, password_hash: passwordHash, role: 'user', email_verified_at: null, disabled_at: null, created_at: now, password_changed_at: now, updated_at: now })
        .execute();
      return issueToken(trx, { userId: id, purpose: 'verify_email', now });
    });
  } catch (error) {
    // Two sign-ups for one address at once: the unique index let one in; the other is a repeat.
    const winner = await findUserByEmail(ctx.db, email);
    if (winner === undefined) throw error;
    await attemptOnExistingAddress(ctx, winner.id, winner.email, winner.display_name, meta);
    return;
  }
  ctx.deliver(verifyEmailMessage(ctx.templates, { to: email, displayName, token }), 'verify_email');
  await ctx.audit.record({ type: 'sign_up', outcome: 'success', actorId: id, subjectId: id, ...where(meta), detail: null });
}

async function attemptOnExistingAddress(ctx: FlowContext, userId: string, email: string, displayName: string | null, meta: RequestMeta): Promise<void> {
  ctx.deliver(signUpAttemptMessage(ctx.templates, { to: email, displayName }), 'sign_up_attempt');
  await ctx.audit.record({ type: 'sign_up', outcome: 'failure', actorId: null, subjectId: userId, ...where(meta), detail: { reason: 'email_taken' } });
}

/** Follows a link from a verification email: for a new account, or for a change of address. */
export async function verifyEmail(ctx: FlowContext, token: string, meta: RequestMeta): Promise<PublicUser> {
  const now = ctx.now();
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const spent = await consumeToken(trx, token, ['verify_email', 'change_email'], now);
    if (spent === undefined) return { ok: false as const, reason: 'invalid_token', userId: null };
    const user = await findUserById(trx, spent.userId);
    if (user === undefined || user.disabled_at !== null) return { ok: false as const, reason: 'account_unavailable', userId: spent.userId };
    if (spent.purpose === 'change_email' && spent.newEmail !== null) {
      const taken = await findUserByEmail(trx, spent.newEmail);
      if (taken !== undefined && taken.id !== user.id) return { ok: false as const, reason: 'email_taken', userId: user.id };
      await trx.updateTable('users').set({ email: spent.newEmail, email_verified_at: now, updated_at: now }).where('id', '=', user.id).execute();
      return { ok: true as const, type: 'email_changed', userId: user.id };
    }
    await trx.updateTable('users').set({ email_verified_at: user.email_verified_at ?? now, updated_at: now }).where('id', '=', user.id).execute();
    return { ok: true as const, type: 'email_verified', userId: user.id };
  });
  if (!outcome.ok) {
    await ctx.audit.record({ type: 'email_verified', outcome: 'failure', actorId: null, subjectId: outcome.userId, ...where(meta), detail: { reason: outcome.reason } });
    throw new AppError('TOKEN_INVALID');
  }
  await ctx.audit.record({ type: outcome.type, outcome: 'success', actorId: outcome.userId, subjectId: outcome.userId, ...where(meta), detail: null });
  const user = await findUserById(ctx.db, outcome.userId);
  if (user === undefined) throw new AppError('TOKEN_INVALID');
  return toPublicUser(user);
}

export async function resendVerification(ctx: FlowContext, userId: string, meta: RequestMeta): Promise<void> {
  const user = await findUserById(ctx.db, userId);
  if (user === undefined || user.disabled_at !== null) throw new AppError('NOT_FOUND');
  // Already verified: nothing to send, and nothing to tell either.
  if (user.email_verified_at !== null) return;
  const token = await ctx.db.transaction().execute((trx) => issueToken(trx, { userId, purpose: 'verify_email', now: ctx.now() }));
  ctx.deliver(verifyEmailMessage(ctx.templates, { to: user.email, displayName: user.display_name, token }), 'verify_email');
  await ctx.audit.record({ type: 'verification_resent', outcome: 'success', actorId: userId, subjectId: userId, ...where(meta), detail: null });
}

/**
 * Starts a change of address: a link to the new address (the change happens when it is followed)
 * and a notice to the current one. An address that already has an account gets neither a link
 * nor a different answer, so this cannot be used to find out who has an account.
 */
export async function changeEmail(ctx: FlowContext, userId: string, newEmail: string, meta: RequestMeta): Promise<void> {
  const user = await findUserById(ctx.db, userId);
  if (user === undefined || user.disabled_at !== null) throw new AppError('NOT_FOUND');
  const email = requireEmail(newEmail, 'email');
  if (email === user.email) throw invalid('email', 'This is already your email address. Enter a different one.');
  const taken = await findUserByEmail(ctx.db, email);
  if (taken !== undefined) {
    ctx.deliver(signUpAttemptMessage(ctx.templates, { to: taken.email, displayName: taken.display_name }), 'email_change_attempt');
    await ctx.audit.record({ type: 'email_change_requested', outcome: 'failure', actorId: userId, subjectId: userId, ...where(meta), detail: { reason: 'email_taken' } });
    return;
  }
  const token = await ctx.db.transaction().execute((trx) => issueToken(trx, { userId, purpose: 'change_email', newEmail: email, now: ctx.now() }));
  ctx.deliver(confirmEmailChangeMessage(ctx.templates, { to: email, displayName: user.display_name, token }), 'change_email');
  ctx.deliver(emailChangeRequestedMessage(ctx.templates, { to: user.email, displayName: user.display_name }), 'change_email_notice');
  await ctx.audit.record({ type: 'email_change_requested', outcome: 'success', actorId: userId, subjectId: userId, ...where(meta), detail: null });
}
