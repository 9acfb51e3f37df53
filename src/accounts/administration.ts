// src/accounts/administration.ts
// What administrators (on the admin page) and operators (through the CLI) do to accounts: list
// and search them, disable and enable them, send a reset link, create users, import users with
// bcrypt hashes from another system, and change roles. Admin actions check the actor is an
// enabled admin here too, not only in the web layer.

import { randomUUID } from 'node:crypto';
import { AppError } from '../errors/app-error.js';
import { accountDisabledMessage } from '../email/templates.js';
import { assertPasswordAcceptable, cleanDisplayName, requireEmail, requirePasswordInput, where, type FlowContext } from './context.js';
import { importFileSchema } from './import-schema.js';
import { sendResetToken } from './password-flows.js';
import { findUserByEmail, findUserById, searchUsers, toPublicUser, type UserRow } from './users.js';
import type { CreateUserInput, ImportedUser, PublicUser, RequestMeta, Role } from './types.js';

export const maximumPageSize = 100;

async function requireAdmin(ctx: FlowContext, adminId: string): Promise<UserRow> {
  const admin = typeof adminId === 'string' ? await findUserById(ctx.db, adminId) : undefined;
  if (admin?.role !== 'admin' || admin.disabled_at !== null) throw new AppError('FORBIDDEN');
  return admin;
}

async function requireTarget(ctx: FlowContext, userId: string): Promise<UserRow> {
  const user = typeof userId === 'string' ? await findUserById(ctx.db, userId) : undefined;
  if (user === undefined) throw new AppError('NOT_FOUND');
  return user;
}

function clampInteger(value: unknown, min: number, max: number, fallback: number): number {
  const number = typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : fallback;
  return Math.min(Math.max(number, min), max);
}

export async function listUsers(ctx: FlowContext, query: { search?: string; page: number; pageSize: number }): Promise<{ users: PublicUser[]; total: number }> {
  const pageSize = clampInteger(query.pageSize, 1, maximumPageSize, 20);
  const page = clampInteger(query.page, 1, 1_000_000, 1);
  const search = typeof query.search === 'string' ? query.search.normalize('NFKC').trim().slice(0, 254) : undefined;
  const { rows, total } = await searchUsers(ctx.db, search, (page - 1) * pageSize, pageSize);
  return { users: rows.map(toPublicUser), total };
}

export async function setDisabled(ctx: FlowContext, adminId: string, userId: string, disabled: boolean, meta: RequestMeta): Promise<void> {
  const admin = await requireAdmin(ctx, adminId);
  // An admin who disables themselves may leave nobody able to undo it.
  if (disabled && admin.id === userId) throw new AppError('FORBIDDEN', { publicMessage: 'You cannot disable your own account.' });
  const user = await requireTarget(ctx, userId);
  const now = ctx.now();
  await ctx.db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set({ disabled_at: disabled ? (user.disabled_at ?? now) : null, updated_at: now }).where('id', '=', user.id).execute();
    if (disabled) {
      // A disabled account stops at once: its sessions and its pending links end with it.
      await trx.deleteFrom('sessions').where('user_id', '=', user.id).execute();
      await trx.deleteFrom('one_time_tokens').where('user_id', '=', user.id).where('used_at', 'is', null).execute();
    }
  });
  if (disabled) await ctx.revokeSessions(user.id);
  if (disabled && user.disabled_at === null) ctx.deliver(accountDisabledMessage(ctx.templates, { to: user.email, displayName: user.display_name }), 'account_disabled');
  await ctx.audit.record({ type: disabled ? 'user_disabled' : 'user_enabled', outcome: 'success', actorId: admin.id, subjectId: user.id, ...where(meta), detail: null });
}

export async function sendResetLink(ctx: FlowContext, adminId: string, userId: string, meta: RequestMeta): Promise<void> {
  const admin = await requireAdmin(ctx, adminId);
  const user = await requireTarget(ctx, userId);
  if (user.disabled_at !== null) throw new AppError('FORBIDDEN', { publicMessage: 'This account is disabled. Enable it before sending a reset link.' });
  await sendResetToken(ctx, user.id, user.email, user.display_name, meta, admin.id);
}

export async function createUser(ctx: FlowContext, input: CreateUserInput): Promise<PublicUser> {
  const email = requireEmail(input.email);
  const displayName = cleanDisplayName(input.displayName);
  const role = requireRole(input.role);
  const password = requirePasswordInput(input.password, 'password');
  await assertPasswordAcceptable(ctx.policy, password, { email, displayName }, 'password');
  if ((await findUserByEmail(ctx.db, email)) !== undefined) throw new AppError('EMAIL_TAKEN');
  const passwordHash = await ctx.passwords.hash(password);
  const now = ctx.now();
  const id = randomUUID();
  await ctx.db
    .insertInto('users')
    .values({ id, email, display_name: displayName, password_hash: passwordHash, role, email_verified_at: (input.emailVerified as unknown) === true ? now : null, disabled_at: null, created_at: now, password_changed_at: now, updated_at: now })
    .execute();
  await ctx.audit.record({ type: 'user_created', outcome: 'success', actorId: null, subjectId: id, ip: null, userAgent: null, detail: { via: 'cli', role } });
  const user = await findUserById(ctx.db, id);
  if (user === undefined) throw new Error('the user just created is missing');
  return toPublicUser(user);
}

function requireRole(value: unknown): Role {
  if (value === 'user' || value === 'admin') return value;
  throw new AppError('VALIDATION_FAILED', { fields: { role: 'Use user or admin.' } });
}

/**
 * Imports users whose passwords are bcrypt hashes from another system, all or nothing: one
 * transaction, and one invalid row refuses the whole file. Addresses that already have an
 * account are skipped (so a file can be imported again safely) and counted.
 */
export async function importUsers(ctx: FlowContext, rows: readonly ImportedUser[]): Promise<{ imported: number; skipped: number }> {
  const parsed = importFileSchema.safeParse(rows);
  if (!parsed.success) {
    const fields: Record<string, string> = {};
    for (const issue of parsed.error.issues.slice(0, 20)) fields[issue.path.map(String).join('.') || 'file'] ??= issue.message;
    throw new AppError('VALIDATION_FAILED', { fields });
  }
  const fields: Record<string, string> = {};
  const seen = new Map<string, number>();
  const prepared = parsed.data.map((row, index) => {
    const email = normaliseOrRecord(row.email, `${index}.email`, fields);
    let displayName: string | null = null;
    try {
      displayName = cleanDisplayName(row.displayName, `${index}.displayName`);
    } catch (error) {
      if (error instanceof AppError) Object.assign(fields, error.fields);
      else throw error;
    }
    if (email !== undefined) {
      const first = seen.get(email);
      if (first !== undefined) fields[`${index}.email`] = `the same address as row ${first}`;
      else seen.set(email, index);
    }
    return { email: email ?? '', displayName, passwordHash: row.passwordHash, role: row.role ?? 'user', emailVerified: row.emailVerified ?? false };
  });
  if (Object.keys(fields).length > 0) throw new AppError('VALIDATION_FAILED', { fields });

  const now = ctx.now();
  return ctx.db.transaction().execute(async (trx) => {
    let imported = 0;
    let skipped = 0;
    for (const row of prepared) {
      if ((await findUserByEmail(trx, row.email)) !== undefined) {
        skipped += 1;
        continue;
      }
      const id = randomUUID();
      await trx
        .insertInto('users')
        .values({ id, email: row.email, display_name: row.displayName, password_hash: row.passwordHash, role: row.role, email_verified_at: row.emailVerified ? now : null, disabled_at: null, created_at: now, password_changed_at: now, updated_at: now })
        .execute();
      await ctx.audit.record({ type: 'user_imported', outcome: 'success', actorId: null, subjectId: id, ip: null, userAgent: null, detail: { via: 'cli', role: row.role } }, trx);
      imported += 1;
    }
    return { imported, skipped };
  });
}

function normaliseOrRecord(value: string, field: string, fields: Record<string, string>): string | undefined {
  try {
    return requireEmail(value, field);
  } catch (error) {
    if (error instanceof AppError) Object.assign(fields, error.fields);
    else throw error;
    return undefined;
  }
}

/** Changes a user's role (CLI). Their sessions end, so the next sign-in starts with a new session id. */
export async function setRole(ctx: FlowContext, emailInput: string, roleInput: string): Promise<PublicUser> {
  const email = requireEmail(emailInput);
  const role = requireRole(roleInput);
  const user = await findUserByEmail(ctx.db, email);
  if (user === undefined) throw new AppError('NOT_FOUND', { publicMessage: 'No account has this email address.' });
  const now = ctx.now();
  await ctx.db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set({ role, updated_at: now }).where('id', '=', user.id).execute();
    if (role !== user.role) await trx.deleteFrom('sessions').where('user_id', '=', user.id).execute();
  });
  if (role !== user.role) await ctx.revokeSessions(user.id);
  await ctx.audit.record({ type: 'role_changed', outcome: 'success', actorId: null, subjectId: user.id, ip: null, userAgent: null, detail: { via: 'cli', from: user.role, to: role } });
  return toPublicUser({ ...user, role });
}
