// src/accounts/mfa/context.ts
// What the MFA operations share: the account flows' context (database, clock, audit trail, mail),
// the box that seals TOTP seeds, the recovery-code key, the wrong-code limit and the passkeys'
// relying party. Also the small queries more than one factor needs.

import type { Kysely, Transaction } from 'kysely';
import { mfaChangedMessage, type MfaChange } from '../../email/mfa-templates.js';
import type { SecretBox } from '../../security/encryption.js';
import type { Database } from '../../storage/schema.js';
import { where, type FlowContext } from '../context.js';
import type { AuditDetail, PublicUser, RequestMeta } from '../types.js';
import type { CodeAttemptLimiter } from './attempt-limit.js';
import { generateRecoveryCodes, hashRecoveryCode, normaliseRecoveryCode } from './recovery-codes.js';
import type { SecondFactorObserver } from './types.js';
import { randomUUID } from 'node:crypto';
import { preparedQuery } from '../../storage/prepared-query.js';

type Queryable = Kysely<Database> | Transaction<Database>;

export interface MfaContext extends FlowContext {
  readonly box: SecretBox;
  readonly recoveryKey: Buffer;
  readonly limiter: CodeAttemptLimiter;
  readonly observer: SecondFactorObserver | undefined;
  /** Undefined when PUBLIC_URL cannot be a relying party (an IP address): passkeys are off. */
  readonly relyingParty: { readonly rpId: string; readonly origin: string; readonly name: string } | undefined;
}

/** The associated data a user's TOTP seed is sealed with: a seed moved to another row does not open. */
export function totpAssociatedData(userId: string): string {
  return `totp:${userId}`;
}

export async function hasConfirmedTotp(db: Queryable, userId: string): Promise<boolean> {
  const row = await db.selectFrom('mfa_totp').select('user_id').where('user_id', '=', userId).where('confirmed_at', 'is not', null).executeTakeFirst();
  return row !== undefined;
}

export async function passkeyCount(db: Queryable, userId: string): Promise<number> {
  const row = await db.selectFrom('passkeys').select((eb) => eb.fn.countAll<number | string | bigint>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function unusedRecoveryCodes(db: Queryable, userId: string): Promise<number> {
  const row = await db
    .selectFrom('recovery_codes')
    .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

// Asked on every sign-in: prepared once per database handle (storage/prepared-query.ts, issue 8).
const secondFactorKindsOf = preparedQuery(1, (db: Queryable, userId: string) =>
  db.selectNoFrom((eb) => [
    eb.exists(eb.selectFrom('mfa_totp').select('user_id').where('user_id', '=', userId).where('confirmed_at', 'is not', null)).as('totp'),
    eb.exists(eb.selectFrom('passkeys').select('id').where('user_id', '=', userId)).as('passkeys'),
  ]),
);

/** Which kinds of second factor the account has, in one statement (a confirmed TOTP; any passkey). */
export async function secondFactorKinds(db: Queryable, userId: string): Promise<{ readonly totp: boolean; readonly passkeys: boolean }> {
  const [row] = await secondFactorKindsOf(db, userId);
  if (row === undefined) throw new Error('second factors: the statement returned no row');
  // SQLite answers 0 or 1, PostgreSQL true or false.
  return { totp: Number(row.totp) === 1, passkeys: Number(row.passkeys) === 1 };
}

export async function isMfaEnabled(db: Queryable, userId: string): Promise<boolean> {
  const { totp, passkeys } = await secondFactorKinds(db, userId);
  return totp || passkeys;
}

/** Replaces the account's recovery codes with a new set; returns the codes, the only time they exist. */
export async function issueRecoveryCodes(ctx: MfaContext, db: Queryable, userId: string): Promise<string[]> {
  const codes = generateRecoveryCodes();
  const now = ctx.now();
  await db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  await db
    .insertInto('recovery_codes')
    .values(
      codes.map((code) => ({
        id: randomUUID(),
        user_id: userId,
        // generateRecoveryCodes only makes codes normaliseRecoveryCode accepts.
        code_hash: hashRecoveryCode(ctx.recoveryKey, normaliseRecoveryCode(code) ?? code),
        used_at: null,
        created_at: now,
      })),
    )
    .execute();
  return codes;
}

/** One audit event about the account's own second factors. */
export function auditMfa(ctx: MfaContext, userId: string, type: string, outcome: 'success' | 'failure', meta: RequestMeta | undefined, detail: AuditDetail | null = null, db?: Queryable): Promise<void> {
  return ctx.audit.record({ type, outcome, actorId: userId, subjectId: userId, ...where(meta), detail }, db);
}

/** Tells the account's owner, by email, in the background. */
export function notifyMfaChange(ctx: MfaContext, user: Pick<PublicUser, 'email' | 'displayName'>, change: MfaChange): void {
  ctx.deliver(mfaChangedMessage(ctx.templates, { to: user.email, displayName: user.displayName, change }), `mfa_${change.kind}`);
}
