// src/accounts/tokens.ts
// One-time tokens for links sent by email: 256 random bits, stored only as their SHA-256, one
// unused token per account and purpose (a new one replaces the old), expiring, and spent by a
// single atomic UPDATE so two clicks racing each other cannot both succeed.

import { createHash, randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database, TokenPurpose } from '../storage/schema.js';

/** How long each kind of link works. */
export const tokenLifetimesMs: Readonly<Record<TokenPurpose, number>> = {
  verify_email: 24 * 60 * 60_000,
  reset_password: 30 * 60_000,
  change_email: 24 * 60 * 60_000,
};

const tokenBytes = 32;
/** base64url of 32 bytes, unpadded. Anything else is refused before the database is asked. */
const tokenPattern = /^[A-Za-z0-9_-]{43}$/;

type Queryable = Kysely<Database> | Transaction<Database>;

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function isWellFormedToken(token: unknown): token is string {
  return typeof token === 'string' && tokenPattern.test(token);
}

export interface IssueTokenInput {
  readonly userId: string;
  readonly purpose: TokenPurpose;
  readonly newEmail?: string | null;
  readonly now: number;
}

/**
 * Creates a token and returns it: the only time it exists in clear. Any unused token of the same
 * purpose for the account is deleted first, so only the newest link works. Run it inside a
 * transaction when the caller writes other rows with it.
 */
export async function issueToken(db: Queryable, input: IssueTokenInput): Promise<string> {
  const token = randomBytes(tokenBytes).toString('base64url');
  await db.deleteFrom('one_time_tokens').where('user_id', '=', input.userId).where('purpose', '=', input.purpose).where('used_at', 'is', null).execute();
  await db
    .insertInto('one_time_tokens')
    .values({
      token_hash: hashToken(token),
      purpose: input.purpose,
      user_id: input.userId,
      new_email: input.newEmail ?? null,
      expires_at: input.now + tokenLifetimesMs[input.purpose],
      used_at: null,
      created_at: input.now,
    })
    .execute();
  return token;
}

export interface LiveToken {
  readonly userId: string;
  readonly purpose: TokenPurpose;
  readonly newEmail: string | null;
}

/** Looks a token up without spending it (to check a new password before the link is used up). */
export async function findLiveToken(db: Queryable, token: unknown, purposes: readonly TokenPurpose[], now: number): Promise<LiveToken | undefined> {
  if (!isWellFormedToken(token)) return undefined;
  const row = await db
    .selectFrom('one_time_tokens')
    .select(['user_id', 'purpose', 'new_email'])
    .where('token_hash', '=', hashToken(token))
    .where('purpose', 'in', purposes)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return row === undefined ? undefined : { userId: row.user_id, purpose: row.purpose, newEmail: row.new_email };
}

/**
 * Spends a token: marks it used if, and only if, it is unused and unexpired, in one statement.
 * Exactly one caller sees the row change; every other (a replay, a race) gets undefined.
 */
export async function consumeToken(db: Queryable, token: unknown, purposes: readonly TokenPurpose[], now: number): Promise<LiveToken | undefined> {
  if (!isWellFormedToken(token)) return undefined;
  const tokenHash = hashToken(token);
  const result = await db
    .updateTable('one_time_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('purpose', 'in', purposes)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  if (result.numUpdatedRows !== 1n) return undefined;
  const row = await db.selectFrom('one_time_tokens').select(['user_id', 'purpose', 'new_email']).where('token_hash', '=', tokenHash).executeTakeFirstOrThrow();
  return { userId: row.user_id, purpose: row.purpose, newEmail: row.new_email };
}

/** Deletes tokens that can no longer be used; returns how many. */
export async function pruneTokens(db: Queryable, now: number): Promise<number> {
  const result = await db
    .deleteFrom('one_time_tokens')
    .where((eb) => eb.or([eb('expires_at', '<=', now), eb('used_at', 'is not', null)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
