// src/accounts/authentication.ts
// Sign-in and re-authentication. An unknown email, a wrong password and a disabled account all
// end in the same INVALID_CREDENTIALS after the same work (one password verification; a dummy
// hash with the live parameters for unknown emails), so neither the answer nor its timing says
// which it was. The reason is kept server-side, in the audit trail.

import { AppError } from '../errors/app-error.js';
import { where, type FlowContext } from './context.js';
import { normaliseEmail } from './email-address.js';
import { findUserByEmail, findUserById, toPublicUser, type UserRow } from './users.js';
import type { AccountLookup, AuditDetail, PublicUser, RequestMeta } from './types.js';

/** Longer than any password the policy accepts; longer input is not worth hashing. */
const maximumPasswordInput = 4096;

function passwordInput(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value.length <= maximumPasswordInput ? value : undefined;
}

/**
 * Verifies a password against a user's stored hash, or against the dummy hash when there is no
 * user (or no usable password), and replaces the stored hash when it was made with other settings.
 */
async function checkPassword(ctx: FlowContext, user: UserRow | undefined, password: string | undefined): Promise<{ valid: boolean; upgraded: boolean }> {
  if (user === undefined || password === undefined) {
    await ctx.passwords.verifyDummy(password ?? '');
    return { valid: false, upgraded: false };
  }
  const { valid, needsRehash } = await ctx.passwords.verify(password, user.password_hash);
  if (!valid || !needsRehash || user.disabled_at !== null) return { valid, upgraded: false };
  const fresh = await ctx.passwords.hash(password);
  // Only if the hash is still the one verified: a password changed meanwhile is not overwritten.
  await ctx.db.updateTable('users').set({ password_hash: fresh, updated_at: ctx.now() }).where('id', '=', user.id).where('password_hash', '=', user.password_hash).execute();
  return { valid, upgraded: true };
}

export async function signIn(ctx: FlowContext, input: { email: string; password: string }, meta: RequestMeta, lookedUp?: AccountLookup): Promise<PublicUser> {
  const email = normaliseEmail((input as { email?: unknown } | undefined)?.email);
  const password = passwordInput((input as { password?: unknown } | undefined)?.password);
  // The same single read either way (known or unknown address), so timing stays equal.
  const user = email === undefined ? undefined : lookedUp?.email === email ? lookedUp.row : await findUserByEmail(ctx.db, email);
  const { valid, upgraded } = await checkPassword(ctx, user, password);

  if (user === undefined || !valid || user.disabled_at !== null) {
    const reason = user === undefined ? 'unknown_email' : user.disabled_at !== null ? 'disabled' : 'wrong_password';
    // Who was tried: the address when it is one (something typed in the email field that is not an
    // address could be a password in the wrong box, and is not recorded).
    const detail: AuditDetail = email === undefined ? { reason } : { reason, email };
    await ctx.audit.record({ type: 'sign_in', outcome: 'failure', actorId: null, subjectId: user?.id ?? null, ...where(meta), detail });
    throw new AppError('INVALID_CREDENTIALS');
  }
  await ctx.audit.record({ type: 'sign_in', outcome: 'success', actorId: user.id, subjectId: user.id, ...where(meta), detail: upgraded ? { upgraded: true } : null });
  return toPublicUser(user);
}

export async function reauthenticate(ctx: FlowContext, userId: string, password: string, meta: RequestMeta): Promise<void> {
  const user = typeof userId === 'string' ? await findUserById(ctx.db, userId) : undefined;
  const { valid } = await checkPassword(ctx, user, passwordInput(password));
  if (user === undefined || !valid || user.disabled_at !== null) {
    await ctx.audit.record({ type: 'reauth', outcome: 'failure', actorId: user?.id ?? null, subjectId: user?.id ?? null, ...where(meta), detail: null });
    throw new AppError('INVALID_CREDENTIALS');
  }
  await ctx.audit.record({ type: 'reauth', outcome: 'success', actorId: user.id, subjectId: user.id, ...where(meta), detail: null });
}
