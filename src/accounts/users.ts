// src/accounts/users.ts
// The users table, behind a few named queries, and the one mapping from a row to a PublicUser
// (which never carries the password hash).

import DataLoader from 'dataloader';
import type { Kysely, Selectable, Transaction } from 'kysely';
import { sql } from 'kysely';
import { preparedQuery } from '../storage/prepared-query.js';
import type { Database, UsersTable } from '../storage/schema.js';
import type { PublicUser } from './types.js';

export type UserRow = Selectable<UsersTable>;
type Queryable = Kysely<Database> | Transaction<Database>;

/** The columns a PublicUser is made of: everything but the password hash and the update time. */
const publicUserColumns = ['id', 'email', 'display_name', 'role', 'email_verified_at', 'disabled_at', 'created_at', 'password_changed_at'] as const;
type PublicUserRow = Pick<UserRow, (typeof publicUserColumns)[number]>;

export function toPublicUser(row: PublicUserRow): PublicUser {
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    role: row.role,
    emailVerified: row.email_verified_at !== null,
    disabled: row.disabled_at !== null,
    createdAt: row.created_at,
    passwordChangedAt: row.password_changed_at,
  };
}

// Every signed-in request reads its user fresh: prepared once (storage/prepared-query.ts).
const userById = preparedQuery(1, (db: Queryable, id) => db.selectFrom('users').selectAll().where('id', '=', id));

export async function findUserById(db: Queryable, id: string): Promise<UserRow | undefined> {
  return (await userById(db, id))[0];
}

// What every signed-in request reads (the chain's loadCurrentUser and the signed-in lane): only the
// public columns, so the password hash never leaves the database to show a page, and there is less
// to send and parse on every request (issue 8).
const publicUserById = preparedQuery(1, (db: Queryable, id) => db.selectFrom('users').select(publicUserColumns).where('id', '=', id));

export async function findPublicUserById(db: Queryable, id: string): Promise<PublicUser | undefined> {
  const row = (await publicUserById(db, id))[0];
  return row === undefined ? undefined : toPublicUser(row);
}

// The same read for several accounts at once (PostgreSQL only: `= any($1)` binds one array).
const publicUsersByIds = preparedQuery<Queryable, PublicUserRow, [readonly string[]]>(1, (db, ids) =>
  db.selectFrom('users').select(publicUserColumns).where('id', '=', (eb) => eb.fn.any(eb.val(ids))),
);

/**
 * The account read of every signed-in request. On PostgreSQL each read is a round trip, and on a
 * loaded server those round trips (the write to the socket, the answer, the pool) cost more CPU
 * than the rest of the request (issue 8): so the reads asked for in the same turn of the event loop
 * go out as one statement (DataLoader, with its cache off). Every read still starts after the
 * request that asked for it arrived, so it sees every change committed before: an account disabled
 * a moment ago is refused as before. SQLite answers in-process; there, each read goes on its own.
 */
export function publicUserReader(db: Kysely<Database>, batched: boolean): (id: string) => Promise<PublicUser | undefined> {
  if (!batched) return (id) => findPublicUserById(db, id);
  const loader = new DataLoader<string, PublicUser | undefined>(
    async (ids) => {
      const rows = new Map((await publicUsersByIds(db, [...new Set(ids)])).map((row) => [row.id, row]));
      // One object per read: two requests of one account never share (and so never alter) one.
      return ids.map((id) => {
        const row = rows.get(id);
        return row === undefined ? undefined : toPublicUser(row);
      });
    },
    // No cache: a cached account would outlive a change to it. The batch stays one short statement.
    { cache: false, maxBatchSize: 100 },
  );
  return (id) => loader.load(id);
}

// Every sign-in (and the throttle before it) reads its account by address: prepared once too.
const userByEmail = preparedQuery(1, (db: Queryable, email) => db.selectFrom('users').selectAll().where('email', '=', email));

export async function findUserByEmail(db: Queryable, normalisedEmail: string): Promise<UserRow | undefined> {
  return (await userByEmail(db, normalisedEmail))[0];
}

/** Escapes LIKE's wildcards so a search for "50%" or "a_b" means those characters. */
function likePattern(search: string): string {
  return `%${search.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}

export interface UserPage {
  readonly rows: UserRow[];
  readonly total: number;
}

export async function searchUsers(db: Queryable, search: string | undefined, offset: number, limit: number): Promise<UserPage> {
  let query = db.selectFrom('users');
  if (search !== undefined && search !== '') {
    const pattern = likePattern(search.toLowerCase());
    // ESCAPE is spelled out: SQLite has no default escape character (PostgreSQL's is the backslash).
    query = query.where((eb) =>
      eb.or([
        sql<boolean>`${eb.ref('email')} like ${pattern} escape ${'\\'}`,
        sql<boolean>`lower(${eb.ref('display_name')}) like ${pattern} escape ${'\\'}`,
      ]),
    );
  }
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('created_at', 'desc').orderBy('id').limit(limit).offset(offset).execute(),
    query.select((eb) => eb.fn.countAll<number | string | bigint>().as('total')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.total) };
}
