// src/accounts/mfa/passkeys.ts
// Passkeys (WebAuthn) with @simplewebauthn/server: several per account, each named, renamed and
// removed by its owner; used as the second factor after a password, or alone for passwordless
// sign-in (discoverable credentials, user verification required). Challenges are single use: each
// is stored bound to the session that asked for it and deleted by the one statement that accepts
// it, so an assertion cannot be replayed, nor carried to another session. Every use must raise the
// authenticator's signature counter (or both stay 0, as synced passkeys report), which exposes a
// cloned authenticator, and the stored counter moves by a compare-and-set.

import { randomBytes, randomUUID } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { AppError } from '../../errors/app-error.js';
import type { PasskeysTable, WebAuthnChallengePurpose } from '../../storage/schema.js';
import type { Selectable } from 'kysely';
import { codePointCount } from '../code-points.js';
import { invalid, where } from '../context.js';
import { findUserById, toPublicUser } from '../users.js';
import type { PublicUser, RequestMeta } from '../types.js';
import { afterRemoval, assertMayRemove } from './codes.js';
import { auditMfa, hasConfirmedTotp, isMfaEnabled, issueRecoveryCodes, notifyMfaChange, unusedRecoveryCodes, type MfaContext } from './context.js';
import type { PasskeySummary, SecondFactorPurpose } from './types.js';

/** How long the browser has to answer; the stored challenge lives as long. */
export const challengeLifetimeMs = 5 * 60_000;
export const maximumPasskeysPerAccount = 20;
export const maximumPasskeyName = 64;

type PasskeyRow = Selectable<PasskeysTable>;

function summary(row: PasskeyRow): PasskeySummary {
  return { id: row.id, name: row.name, createdAt: row.created_at, lastUsedAt: row.last_used_at, backedUp: row.backed_up === 1 };
}

function relyingParty(ctx: MfaContext) {
  // Routes are not offered without one; reaching here is a wiring mistake, answered as not found.
  if (ctx.relyingParty === undefined) throw new AppError('NOT_FOUND');
  return ctx.relyingParty;
}

/** Trimmed, NFC, 1-64 characters without control characters; empty or missing gets `fallback`. */
export function cleanPasskeyName(value: unknown, fallback: string): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string') throw invalid('name', 'Send the name as text.');
  const name = value.normalize('NFC').trim();
  if (name === '') return fallback;
  if (codePointCount(name) > maximumPasskeyName) throw invalid('name', `Use at most ${maximumPasskeyName} characters.`);
  if (/[\p{Cc}\p{Co}\p{Cn}\u2028\u2029]/u.test(name)) throw invalid('name', 'Use letters, digits, spaces and punctuation only.');
  return name;
}

export async function listPasskeys(ctx: MfaContext, userId: string): Promise<PasskeySummary[]> {
  const rows = await ctx.db.selectFrom('passkeys').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute();
  return rows.map(summary);
}

async function storeChallenge(ctx: MfaContext, binding: string, purpose: WebAuthnChallengePurpose, userId: string | null, challenge: string): Promise<void> {
  const now = ctx.now();
  await ctx.db.transaction().execute(async (trx) => {
    // One live challenge per session and purpose, and none past its time: the table stays small.
    await trx.deleteFrom('webauthn_challenges').where('session_key', '=', binding).where('purpose', '=', purpose).execute();
    await trx.deleteFrom('webauthn_challenges').where('expires_at', '<=', now).execute();
    await trx.insertInto('webauthn_challenges').values({ challenge, session_key: binding, purpose, user_id: userId, expires_at: now + challengeLifetimeMs }).execute();
  });
}

/** Spends a challenge if it is live, this session's, for this purpose and user: true exactly once. */
async function spendChallenge(ctx: MfaContext, challenge: string, binding: string, purpose: WebAuthnChallengePurpose, userId: string | null): Promise<boolean> {
  if (challenge.length === 0 || challenge.length > 128) return false;
  let query = ctx.db
    .deleteFrom('webauthn_challenges')
    .where('challenge', '=', challenge)
    .where('session_key', '=', binding)
    .where('purpose', '=', purpose)
    .where('expires_at', '>', ctx.now());
  query = userId === null ? query.where('user_id', 'is', null) : query.where('user_id', '=', userId);
  const result = await query.executeTakeFirst();
  return result.numDeletedRows === 1n;
}

function newChallenge(): string {
  return randomBytes(32).toString('base64url');
}

export async function passkeyRegistrationOptions(ctx: MfaContext, user: PublicUser, binding: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const rp = relyingParty(ctx);
  const existing = await ctx.db.selectFrom('passkeys').select(['credential_id', 'transports']).where('user_id', '=', user.id).execute();
  if (existing.length >= maximumPasskeysPerAccount) throw invalid('name', `An account can have at most ${maximumPasskeysPerAccount} passkeys. Remove one first.`);
  const challenge = newChallenge();
  const options = await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.rpId,
    userName: user.email,
    // The account's random id: it says nothing about the person, and finds them again at sign-in.
    userID: new TextEncoder().encode(user.id),
    userDisplayName: user.displayName ?? user.email,
    challenge,
    timeout: challengeLifetimeMs,
    attestationType: 'none',
    // The same authenticator twice is refused by the browser before it asks the person.
    excludeCredentials: existing.map((row) => ({ id: row.credential_id, ...(row.transports === null ? {} : { transports: parseTransports(row.transports) }) })),
    // Discoverable, so it can sign in without a password; verified, so it is two factors in one.
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });
  await storeChallenge(ctx, binding, 'register', user.id, options.challenge);
  return options;
}

function parseTransports(value: string): string[] {
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed.filter((entry): entry is string => typeof entry === 'string').slice(0, 10) : [];
  } catch {
    return [];
  }
}

function registrationFailed(): AppError {
  return new AppError('PASSKEY_REGISTRATION_FAILED');
}

export async function registerPasskey(
  ctx: MfaContext,
  user: PublicUser,
  binding: string,
  input: { name?: string | undefined; response: unknown },
  meta: RequestMeta,
): Promise<{ passkey: PasskeySummary; recoveryCodes: string[] }> {
  const rp = relyingParty(ctx);
  const count = (await listPasskeys(ctx, user.id)).length;
  const name = cleanPasskeyName(input.name, `Passkey ${count + 1}`);
  let verification;
  try {
    verification = await verifyRegistrationResponse({
      response: input.response as RegistrationResponseJSON,
      expectedChallenge: (challenge) => spendChallenge(ctx, challenge, binding, 'register', user.id),
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpId,
      requireUserVerification: true,
    });
  } catch (error) {
    await auditMfa(ctx, user.id, 'passkey_added', 'failure', meta, { reason: 'verification_failed' });
    ctx.logger.info({ userId: user.id, reason: error instanceof Error ? error.message.slice(0, 200) : 'unknown' }, 'passkey registration refused');
    throw registrationFailed();
  }
  if (!verification.verified) {
    await auditMfa(ctx, user.id, 'passkey_added', 'failure', meta, { reason: 'not_verified' });
    throw registrationFailed();
  }
  const { credential, credentialDeviceType, credentialBackedUp } = verification.registrationInfo;
  const now = ctx.now();
  const id = randomUUID();
  let recoveryCodes: string[];
  try {
    recoveryCodes = await ctx.db.transaction().execute(async (trx) => {
      const wasEnabled = await isMfaEnabled(trx, user.id);
      await trx
        .insertInto('passkeys')
        .values({
          id,
          user_id: user.id,
          credential_id: credential.id,
          public_key: Buffer.from(credential.publicKey).toString('base64url'),
          counter: credential.counter,
          transports: credential.transports === undefined ? null : JSON.stringify(credential.transports.slice(0, 10)),
          name,
          device_type: credentialDeviceType,
          backed_up: credentialBackedUp ? 1 : 0,
          created_at: now,
          last_used_at: null,
        })
        .execute();
      // MFA just turned on (or the account has no codes left): a set of recovery codes to go with it.
      const needCodes = !wasEnabled || (await unusedRecoveryCodes(trx, user.id)) === 0;
      return needCodes ? issueRecoveryCodes(ctx, trx, user.id) : [];
    });
  } catch (error) {
    // The unique credential id: this authenticator is already registered (here or elsewhere).
    await auditMfa(ctx, user.id, 'passkey_added', 'failure', meta, { reason: 'already_registered' });
    ctx.logger.info({ userId: user.id, reason: error instanceof Error ? error.message.slice(0, 200) : 'unknown' }, 'passkey could not be stored');
    throw registrationFailed();
  }
  await auditMfa(ctx, user.id, 'passkey_added', 'success', meta, { name });
  notifyMfaChange(ctx, user, { kind: 'passkey_added', name });
  if (recoveryCodes.length > 0) await auditMfa(ctx, user.id, 'recovery_codes_generated', 'success', meta, { count: recoveryCodes.length });
  const row = await ctx.db.selectFrom('passkeys').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return { passkey: summary(row), recoveryCodes };
}

async function ownPasskey(ctx: MfaContext, userId: string, passkeyId: string): Promise<PasskeyRow> {
  const row = typeof passkeyId === 'string' ? await ctx.db.selectFrom('passkeys').selectAll().where('id', '=', passkeyId).where('user_id', '=', userId).executeTakeFirst() : undefined;
  // Someone else's passkey is simply not found: its id tells nothing.
  if (row === undefined) throw new AppError('NOT_FOUND');
  return row;
}

export async function renamePasskey(ctx: MfaContext, user: PublicUser, passkeyId: string, nameInput: unknown, meta: RequestMeta): Promise<PasskeySummary> {
  const row = await ownPasskey(ctx, user.id, passkeyId);
  const name = cleanPasskeyName(nameInput, row.name);
  if (name === row.name) return summary(row);
  await ctx.db.updateTable('passkeys').set({ name }).where('id', '=', row.id).where('user_id', '=', user.id).execute();
  await auditMfa(ctx, user.id, 'passkey_renamed', 'success', meta, { name });
  notifyMfaChange(ctx, user, { kind: 'passkey_renamed', name });
  return summary({ ...row, name });
}

export async function removePasskey(ctx: MfaContext, user: PublicUser, passkeyId: string, meta: RequestMeta): Promise<void> {
  const row = await ownPasskey(ctx, user.id, passkeyId);
  const others = (await ctx.db.selectFrom('passkeys').select('id').where('user_id', '=', user.id).where('id', '!=', row.id).execute()).length;
  await assertMayRemove(ctx, user, others > 0 || (await hasConfirmedTotp(ctx.db, user.id)), 'passkey_removed', meta);
  const result = await ctx.db.deleteFrom('passkeys').where('id', '=', row.id).where('user_id', '=', user.id).executeTakeFirst();
  if (result.numDeletedRows !== 1n) throw new AppError('NOT_FOUND');
  await auditMfa(ctx, user.id, 'passkey_removed', 'success', meta, { name: row.name });
  notifyMfaChange(ctx, user, { kind: 'passkey_removed', name: row.name });
  await afterRemoval(ctx, user, meta);
}

export async function passkeyAuthenticationOptions(ctx: MfaContext, binding: string, userId: string | undefined): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const rp = relyingParty(ctx);
  const challenge = newChallenge();
  if (userId === undefined) {
    // Passwordless: any discoverable passkey for this site; the browser lets the person choose.
    const options = await generateAuthenticationOptions({ rpID: rp.rpId, challenge, timeout: challengeLifetimeMs, userVerification: 'required' });
    await storeChallenge(ctx, binding, 'sign_in', null, options.challenge);
    return options;
  }
  const rows = await ctx.db.selectFrom('passkeys').select(['credential_id', 'transports']).where('user_id', '=', userId).execute();
  if (rows.length === 0) throw new AppError('PASSKEY_REJECTED');
  const options = await generateAuthenticationOptions({
    rpID: rp.rpId,
    challenge,
    timeout: challengeLifetimeMs,
    userVerification: 'preferred',
    allowCredentials: rows.map((row) => ({ id: row.credential_id, ...(row.transports === null ? {} : { transports: parseTransports(row.transports) }) })),
  });
  await storeChallenge(ctx, binding, 'second_factor', userId, options.challenge);
  return options;
}

/** The user handle a discoverable credential returns: our account id, base64url-encoded. */
function userHandleOf(response: AuthenticationResponseJSON): string | undefined {
  const handle = (response.response as { userHandle?: unknown } | undefined)?.userHandle;
  if (typeof handle !== 'string' || handle.length > 128) return undefined;
  return Buffer.from(handle, 'base64url').toString('utf8');
}

export async function verifyPasskey(ctx: MfaContext, binding: string, input: unknown, userId: string | undefined, purpose: SecondFactorPurpose, meta: RequestMeta): Promise<PublicUser> {
  const rp = relyingParty(ctx);
  const response = input as AuthenticationResponseJSON;
  const passwordless = userId === undefined;
  const type = passwordless ? 'passkey_sign_in' : 'second_factor';
  const detail: Record<string, string> = passwordless ? {} : { method: 'passkey', purpose };
  const reject = async (reason: string, subject: string | null): Promise<never> => {
    await ctx.audit.record({ type, outcome: 'failure', actorId: subject, subjectId: subject, ...where(meta), detail: { ...detail, reason } });
    throw new AppError('PASSKEY_REJECTED');
  };

  const credentialId = typeof response.id === 'string' && response.id.length <= 1400 ? response.id : undefined;
  const row = credentialId === undefined ? undefined : await ctx.db.selectFrom('passkeys').selectAll().where('credential_id', '=', credentialId).executeTakeFirst();
  if (row === undefined) return reject('unknown_passkey', userId ?? null);
  if (!passwordless && row.user_id !== userId) return reject('another_accounts_passkey', userId);
  if (passwordless && userHandleOf(response) !== row.user_id) return reject('user_handle_mismatch', row.user_id);
  const user = await findUserById(ctx.db, row.user_id);
  if (user === undefined || user.disabled_at !== null) return reject('account_unusable', row.user_id);

  let verification;
  try {
    verification = await verifyAuthenticationResponse({
      response,
      expectedChallenge: (challenge) => spendChallenge(ctx, challenge, binding, passwordless ? 'sign_in' : 'second_factor', passwordless ? null : row.user_id),
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpId,
      credential: { id: row.credential_id, publicKey: new Uint8Array(Buffer.from(row.public_key, 'base64url')), counter: row.counter, ...(row.transports === null ? {} : { transports: parseTransports(row.transports) }) },
      requireUserVerification: passwordless,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    const reason = /counter/i.test(message) ? 'counter_not_increased' : /challenge/i.test(message) ? 'challenge' : 'verification_failed';
    // A counter that went backwards means a copy of the authenticator exists somewhere.
    if (reason === 'counter_not_increased') ctx.logger.warn({ userId: row.user_id, passkeyId: row.id }, 'passkey signature counter did not increase: possibly a cloned authenticator');
    return reject(reason, row.user_id);
  }
  if (!verification.verified) return reject('not_verified', row.user_id);
  const { newCounter, credentialBackedUp } = verification.authenticationInfo;
  // Compare-and-set: of two uses racing with the same counter value, one wins.
  const moved = await ctx.db
    .updateTable('passkeys')
    .set({ counter: newCounter, last_used_at: ctx.now(), backed_up: credentialBackedUp ? 1 : 0 })
    .where('id', '=', row.id)
    .where('counter', '=', row.counter)
    .executeTakeFirst();
  if (moved.numUpdatedRows !== 1n) return reject('counter_race', row.user_id);
  await ctx.audit.record({ type, outcome: 'success', actorId: row.user_id, subjectId: row.user_id, ...where(meta), detail: { ...detail, name: row.name } });
  return toPublicUser(user);
}

export async function pruneChallenges(ctx: MfaContext): Promise<number> {
  const result = await ctx.db.deleteFrom('webauthn_challenges').where('expires_at', '<=', ctx.now()).executeTakeFirst();
  return Number(result.numDeletedRows);
}
