// src/accounts/mfa/codes.ts
// The two code factors: an authenticator app (TOTP, RFC 6238) and recovery codes. Enrolment,
// confirmation with a first valid code, removal, single-use verification and regeneration.
// Every code is checked under the account's wrong-code limit, and every attempt is audited; a
// wrong code, a replayed one and one sent while the account is throttled all get one answer.

import { AppError } from '../../errors/app-error.js';
import { findUserById } from '../users.js';
import type { PublicUser, RequestMeta } from '../types.js';
import { auditMfa, hasConfirmedTotp, isMfaEnabled, issueRecoveryCodes, notifyMfaChange, passkeyCount, totpAssociatedData, unusedRecoveryCodes, type MfaContext } from './context.js';
import { hashRecoveryCode, normaliseRecoveryCode } from './recovery-codes.js';
import { generateTotpSecret, totpUri, verifyTotp as checkTotp } from './totp.js';
import type { SecondFactorPurpose, TotpEnrolment } from './types.js';

/** An enrolment not confirmed within this time must be started again. */
export const totpEnrolmentLifetimeMs = 30 * 60_000;

/** Longest text looked at as a code; anything longer is simply wrong. */
const maximumCodeInput = 64;

function codeText(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= maximumCodeInput ? value : undefined;
}

function wrongCode(): AppError {
  return new AppError('MFA_CODE_INVALID');
}

/** Runs one code check under the wrong-code limit; `check` answers whether the code was right. */
async function limited(ctx: MfaContext, userId: string, meta: RequestMeta, check: () => Promise<boolean>): Promise<'ok' | 'wrong' | 'throttled'> {
  const reservation = await ctx.limiter.reserve(userId);
  if (reservation === undefined) {
    await ctx.observer?.failed(userId, meta);
    return 'throttled';
  }
  let right = false;
  try {
    right = await check();
  } finally {
    await (right ? reservation.succeeded() : reservation.failed());
  }
  await (right ? ctx.observer?.succeeded(userId, meta) : ctx.observer?.failed(userId, meta));
  return right ? 'ok' : 'wrong';
}

function enrolmentFor(ctx: MfaContext, user: PublicUser, secret: string): TotpEnrolment {
  return { secret, otpauthUrl: totpUri(secret, ctx.config.siteName, user.email) };
}

export async function startTotpEnrolment(ctx: MfaContext, user: PublicUser, meta: RequestMeta): Promise<TotpEnrolment> {
  if (await hasConfirmedTotp(ctx.db, user.id)) throw new AppError('MFA_ALREADY_ENABLED');
  const secret = generateTotpSecret();
  const sealed = ctx.box.seal(secret, totpAssociatedData(user.id));
  const now = ctx.now();
  // Replaces an unconfirmed seed; never a confirmed one (the where clause), even in a race.
  await ctx.db
    .insertInto('mfa_totp')
    .values({ user_id: user.id, sealed_secret: sealed, confirmed_at: null, last_used_step: null, created_at: now })
    .onConflict((conflict) => conflict.column('user_id').doUpdateSet({ sealed_secret: sealed, created_at: now, last_used_step: null }).where('mfa_totp.confirmed_at', 'is', null))
    .execute();
  if (await hasConfirmedTotp(ctx.db, user.id)) throw new AppError('MFA_ALREADY_ENABLED');
  await auditMfa(ctx, user.id, 'totp_enrolment_started', 'success', meta);
  return enrolmentFor(ctx, user, secret);
}

async function pendingRow(ctx: MfaContext, userId: string) {
  const row = await ctx.db.selectFrom('mfa_totp').selectAll().where('user_id', '=', userId).where('confirmed_at', 'is', null).executeTakeFirst();
  if (row === undefined || ctx.now() - row.created_at > totpEnrolmentLifetimeMs) return undefined;
  return row;
}

export async function pendingTotpEnrolment(ctx: MfaContext, user: PublicUser): Promise<TotpEnrolment | undefined> {
  const row = await pendingRow(ctx, user.id);
  return row === undefined ? undefined : enrolmentFor(ctx, user, ctx.box.open(row.sealed_secret, totpAssociatedData(user.id)));
}

export async function confirmTotp(ctx: MfaContext, user: PublicUser, code: unknown, meta: RequestMeta): Promise<{ recoveryCodes: string[] }> {
  const row = await pendingRow(ctx, user.id);
  if (row === undefined) {
    await auditMfa(ctx, user.id, 'totp_enabled', 'failure', meta, { reason: 'no_enrolment' });
    throw wrongCode();
  }
  const secret = ctx.box.open(row.sealed_secret, totpAssociatedData(user.id));
  let step: number | null = null;
  const text = codeText(code);
  const verdict = await limited(ctx, user.id, meta, () => {
    step = text === undefined ? null : checkTotp({ secretBase32: secret, code: text, lastUsedStep: null, nowMs: ctx.now() });
    return Promise.resolve(step !== null);
  });
  const acceptedStep = step as number | null;
  if (verdict !== 'ok' || acceptedStep === null) {
    await auditMfa(ctx, user.id, 'totp_enabled', 'failure', meta, { reason: verdict === 'throttled' ? 'throttled' : 'wrong_code' });
    throw wrongCode();
  }
  const now = ctx.now();
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const wasEnabled = await isMfaEnabled(trx, user.id);
    // Only the very seed the code was checked against, and only while still unconfirmed.
    const result = await trx
      .updateTable('mfa_totp')
      .set({ confirmed_at: now, last_used_step: acceptedStep })
      .where('user_id', '=', user.id)
      .where('confirmed_at', 'is', null)
      .where('sealed_secret', '=', row.sealed_secret)
      .executeTakeFirst();
    if (result.numUpdatedRows !== 1n) return undefined;
    const needCodes = !wasEnabled || (await unusedRecoveryCodes(trx, user.id)) === 0;
    const recoveryCodes = needCodes ? await issueRecoveryCodes(ctx, trx, user.id) : [];
    return { recoveryCodes };
  });
  if (outcome === undefined) {
    await auditMfa(ctx, user.id, 'totp_enabled', 'failure', meta, { reason: 'enrolment_replaced' });
    throw wrongCode();
  }
  await auditMfa(ctx, user.id, 'totp_enabled', 'success', meta);
  notifyMfaChange(ctx, user, { kind: 'totp_enabled' });
  if (outcome.recoveryCodes.length > 0) await auditMfa(ctx, user.id, 'recovery_codes_generated', 'success', meta, { count: outcome.recoveryCodes.length });
  return outcome;
}

/** After a factor is removed: when none is left, the recovery codes go too, and MFA is off. */
async function afterRemoval(ctx: MfaContext, user: PublicUser, meta: RequestMeta): Promise<void> {
  if (await isMfaEnabled(ctx.db, user.id)) return;
  await ctx.db.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
  await auditMfa(ctx, user.id, 'mfa_disabled', 'success', meta);
  notifyMfaChange(ctx, user, { kind: 'mfa_disabled' });
}

/** Refuses to remove the last factor of an account the policy requires MFA of. */
export async function assertMayRemove(ctx: MfaContext, user: PublicUser, otherFactorsLeft: boolean, what: string, meta: RequestMeta): Promise<void> {
  if (otherFactorsLeft || !requiredFor(ctx, user.role)) return;
  await auditMfa(ctx, user.id, what, 'failure', meta, { reason: 'last_method_required' });
  throw new AppError('MFA_LAST_METHOD');
}

export function requiredFor(ctx: MfaContext, role: PublicUser['role']): boolean {
  const required = ctx.config.mfa.required;
  return required === 'all' || (required === 'admin' && role === 'admin');
}

export async function removeTotp(ctx: MfaContext, user: PublicUser, meta: RequestMeta): Promise<void> {
  const row = await ctx.db.selectFrom('mfa_totp').select(['confirmed_at']).where('user_id', '=', user.id).executeTakeFirst();
  if (row === undefined) throw new AppError('NOT_FOUND');
  if (row.confirmed_at === null) {
    // An enrolment never confirmed: nothing was on, nothing to tell.
    await ctx.db.deleteFrom('mfa_totp').where('user_id', '=', user.id).where('confirmed_at', 'is', null).execute();
    return;
  }
  await assertMayRemove(ctx, user, (await passkeyCount(ctx.db, user.id)) > 0, 'totp_removed', meta);
  const result = await ctx.db.deleteFrom('mfa_totp').where('user_id', '=', user.id).executeTakeFirst();
  if (result.numDeletedRows !== 1n) throw new AppError('NOT_FOUND');
  await auditMfa(ctx, user.id, 'totp_removed', 'success', meta);
  notifyMfaChange(ctx, user, { kind: 'totp_removed' });
  await afterRemoval(ctx, user, meta);
}

export { afterRemoval };

export async function verifyTotp(ctx: MfaContext, userId: string, code: unknown, purpose: SecondFactorPurpose, meta: RequestMeta): Promise<void> {
  const row = await ctx.db.selectFrom('mfa_totp').selectAll().where('user_id', '=', userId).where('confirmed_at', 'is not', null).executeTakeFirst();
  const detail = { method: 'totp', purpose };
  if (row === undefined) {
    await auditMfa(ctx, userId, 'second_factor', 'failure', meta, { ...detail, reason: 'not_enrolled' });
    throw wrongCode();
  }
  const text = codeText(code);
  let reason = 'wrong_code';
  const verdict = await limited(ctx, userId, meta, async () => {
    const secret = ctx.box.open(row.sealed_secret, totpAssociatedData(userId));
    const step = text === undefined ? null : checkTotp({ secretBase32: secret, code: text, lastUsedStep: row.last_used_step, nowMs: ctx.now() });
    if (step === null) {
      // Tell a replay apart in the audit trail (never in the answer).
      if (text !== undefined && row.last_used_step !== null && checkTotp({ secretBase32: secret, code: text, lastUsedStep: null, nowMs: ctx.now() }) !== null) reason = 'replayed';
      return false;
    }
    // Single use, atomically: only one request can move the step forward past this value.
    const moved = await ctx.db
      .updateTable('mfa_totp')
      .set({ last_used_step: step })
      .where('user_id', '=', userId)
      .where('confirmed_at', 'is not', null)
      .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
      .executeTakeFirst();
    if (moved.numUpdatedRows !== 1n) reason = 'replayed';
    return moved.numUpdatedRows === 1n;
  });
  if (verdict !== 'ok') {
    await auditMfa(ctx, userId, 'second_factor', 'failure', meta, { ...detail, reason: verdict === 'throttled' ? 'throttled' : reason });
    throw wrongCode();
  }
  await auditMfa(ctx, userId, 'second_factor', 'success', meta, detail);
}

export async function useRecoveryCode(ctx: MfaContext, userId: string, code: unknown, purpose: SecondFactorPurpose, meta: RequestMeta): Promise<{ remaining: number }> {
  const detail = { method: 'recovery_code', purpose };
  const text = codeText(code);
  const canonical = text === undefined ? undefined : normaliseRecoveryCode(text);
  const verdict = await limited(ctx, userId, meta, async () => {
    if (canonical === undefined) return false;
    // Spent by one UPDATE: of two requests with the same code, exactly one sees the row change.
    const result = await ctx.db
      .updateTable('recovery_codes')
      .set({ used_at: ctx.now() })
      .where('user_id', '=', userId)
      .where('code_hash', '=', hashRecoveryCode(ctx.recoveryKey, canonical))
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  });
  if (verdict !== 'ok') {
    await auditMfa(ctx, userId, 'second_factor', 'failure', meta, { ...detail, reason: verdict === 'throttled' ? 'throttled' : 'wrong_code' });
    throw wrongCode();
  }
  const remaining = await unusedRecoveryCodes(ctx.db, userId);
  await auditMfa(ctx, userId, 'second_factor', 'success', meta, { ...detail, remaining });
  const user = await findUserById(ctx.db, userId);
  if (user !== undefined) notifyMfaChange(ctx, { email: user.email, displayName: user.display_name }, { kind: 'recovery_code_used', remaining });
  return { remaining };
}

export async function regenerateRecoveryCodes(ctx: MfaContext, user: PublicUser, meta: RequestMeta): Promise<string[]> {
  const codes = await ctx.db.transaction().execute(async (trx) => {
    // Recovery codes stand in for a second factor: with none on, there is nothing to recover.
    if (!(await isMfaEnabled(trx, user.id))) return undefined;
    return issueRecoveryCodes(ctx, trx, user.id);
  });
  if (codes === undefined) throw new AppError('NOT_FOUND');
  await auditMfa(ctx, user.id, 'recovery_codes_generated', 'success', meta, { count: codes.length });
  notifyMfaChange(ctx, user, { kind: 'recovery_codes_generated' });
  return codes;
}
