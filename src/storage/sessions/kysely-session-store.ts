// src/storage/sessions/kysely-session-store.ts
// express-session's store, in the database. Rows are keyed by SHA-256 of the session id (a stolen
// database holds no usable cookie), expire on the server after idle and absolute limits, and a
// session revoked elsewhere is never brought back by a request that was still in flight.

import { createHash } from 'node:crypto';
import type { Request } from 'express';
import session from 'express-session';
import type { Db } from '../database.js';
import { preparedQuery } from '../prepared-query.js';

/** The read of every request that carries a session cookie: prepared once (storage/prepared-query.ts). */
const sessionById = preparedQuery(1, (db: Db, id) => db.selectFrom('sessions').select(['data', 'idle_expires_at', 'absolute_expires_at', 'last_seen_at']).where('id', '=', id));

export interface SessionTimeouts {
  readonly idleTimeoutMs: number;
  readonly absoluteTimeoutMs: number;
  /** Activity is written at most this often per session, so reads do not become writes. */
  readonly touchIntervalMs?: number;
}

export interface StoredSessionSummary {
  /** The hashed id: safe to show and to use for revocation, useless as a cookie. */
  readonly id: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly ip: string | null;
  readonly userAgent: string | null;
}

export function hashSessionId(sessionId: string): string {
  return createHash('sha256').update(sessionId, 'utf8').digest('hex');
}

type Callback<T = void> = (error?: unknown, value?: T) => void;

/**
 * True when the session, as loaded, had its activity recorded within the last `intervalMs`: a
 * touch would change nothing (both stores only record activity older than the interval).
 */
export function isRecentlySeen(data: session.SessionData, now: number, intervalMs: number): boolean {
  const seenAt = data.seenAt;
  return typeof seenAt === 'number' && seenAt >= now - intervalMs;
}

/**
 * Marks a session just inserted as one that exists in the store, as a read does, with its activity
 * recorded now. express-session saves a regenerated session (sign-in, re-authentication) again at
 * the end of the request, having lost track of the save made meanwhile; as an insert, that wrote
 * back a session revoked in between (every other session of the user ended, or the account
 * disabled). Now it can only update. A touch later in the same request has nothing to record.
 * Not enumerable, so neither express-session's check for changes nor the stored JSON sees them;
 * a session loaded from the store already has both and is left alone.
 */
export function markInserted(data: session.SessionData, now: number): void {
  if (Object.hasOwn(data, 'persisted') || Object.hasOwn(data, 'seenAt')) return;
  Object.defineProperty(data, 'persisted', { value: true, enumerable: false, configurable: true, writable: true });
  Object.defineProperty(data, 'seenAt', { value: now, enumerable: false, configurable: true, writable: true });
}

/** What a store last wrote for a session object, kept on the object itself (not enumerable). */
interface LastWrite {
  readonly sid: string;
  readonly json: string;
  readonly at: number;
}

const lastWrite = Symbol('portcullis.session.lastWrite');

/**
 * Records what was just written for this session object, so an identical save right after can be
 * skipped (writtenJustNow). A symbol property: neither express-session's check for changes nor
 * the stored JSON sees it, and it lives as long as the request's session object.
 */
export function rememberWrite(data: session.SessionData, sid: string, json: string, now: number): void {
  Object.defineProperty(data, lastWrite, { value: { sid, json, at: now } satisfies LastWrite, enumerable: false, configurable: true, writable: true });
}

/**
 * True when this session object was written with exactly this content under this id within the
 * interval: writing it again changes nothing a reader could see. express-session saves a
 * regenerated session a second time at the end of the request (it loses track of the explicit
 * save that sign-in makes), which on every sign-in was a second statement for nothing (issue 8).
 * A session revoked in between stays gone either way (the second write could only update).
 */
export function writtenJustNow(data: session.SessionData, sid: string, json: string, now: number, intervalMs: number): boolean {
  const previous = Reflect.get(data, lastWrite) as LastWrite | undefined;
  return data.persisted === true && previous !== undefined && previous.sid === sid && previous.json === json && now - previous.at >= 0 && now - previous.at < intervalMs;
}

/**
 * express-session's Store.regenerate deletes the old id's entry, then makes a new session. A
 * session that never reached the store (made for this request: a visitor signing in without a
 * session cookie) has no entry, so the delete is skipped: one statement less per sign-in. Only
 * sessions loaded from the store or inserted by it are marked persisted; ids are 256-bit random,
 * so no other entry can have this one's id.
 */
export function regenerateSkippingUnstored(store: session.Store & { generate?: (req: Request) => void }, req: Request, callback: (error?: unknown) => void): void {
  if (req.session.persisted === true || store.generate === undefined) {
    session.Store.prototype.regenerate.call(store, req, callback);
    return;
  }
  store.generate(req);
  callback();
}

function settle<T>(promise: Promise<T>, callback: Callback<T> | undefined): void {
  promise.then(
    (value) => callback?.(null, value),
    (error: unknown) => callback?.(error),
  );
}

export class KyselySessionStore extends session.Store {
  readonly #db: Db;
  readonly #timeouts: Required<SessionTimeouts>;
  readonly #now: () => number;

  constructor(db: Db, timeouts: SessionTimeouts, now: () => number = Date.now) {
    super();
    this.#db = db;
    this.#timeouts = { touchIntervalMs: 60_000, ...timeouts };
    this.#now = now;
  }

  override get(sid: string, callback: Callback<session.SessionData | null>): void {
    settle(this.readSession(sid), callback);
  }

  override set(sid: string, data: session.SessionData, callback?: Callback): void {
    settle(this.writeSession(sid, data), callback);
  }

  override regenerate(req: Request, callback: (error?: unknown) => void): void {
    regenerateSkippingUnstored(this, req, callback);
  }

  override destroy(sid: string, callback?: Callback): void {
    settle(this.#db.deleteFrom('sessions').where('id', '=', hashSessionId(sid)).execute().then(() => undefined), callback);
  }

  override touch(sid: string, data: session.SessionData, callback?: Callback): void {
    // express-session touches every unchanged session after each answer. The row's last activity
    // came with the read: within the interval there is nothing to write, so no statement runs
    // (before, an UPDATE that matched nothing still took SQLite's write lock on every request).
    if (isRecentlySeen(data, this.#now(), this.#timeouts.touchIntervalMs)) {
      callback?.();
      return;
    }
    settle(this.recordActivity(sid), callback);
  }

  async readSession(sid: string): Promise<session.SessionData | null> {
    const id = hashSessionId(sid);
    const [row] = await sessionById(this.#db, id);
    if (row === undefined) return null;
    const now = this.#now();
    if (now >= row.idle_expires_at || now >= row.absolute_expires_at) {
      await this.#db.deleteFrom('sessions').where('id', '=', id).execute();
      return null;
    }
    const data = JSON.parse(row.data) as session.SessionData;
    // Marks the session as one that exists in the store: saving it later may update, never insert.
    data.persisted = true;
    data.seenAt = row.last_seen_at;
    return data;
  }

  async writeSession(sid: string, data: session.SessionData): Promise<void> {
    const id = hashSessionId(sid);
    const now = this.#now();
    const { persisted, seenAt: _seenAt, ...rest } = data;
    const json = JSON.stringify(rest);
    if (writtenJustNow(data, sid, json, now, this.#timeouts.touchIntervalMs)) return;
    const columns = {
      data: json,
      user_id: rest.userId ?? null,
      ip: rest.client?.ip ?? null,
      user_agent: rest.client?.userAgent.slice(0, 512) ?? null,
      last_seen_at: now,
      idle_expires_at: now + this.#timeouts.idleTimeoutMs,
    };
    if (persisted === true) {
      // If the row is gone, the session was revoked or expired while this request ran: stay gone.
      await this.#db.updateTable('sessions').set(columns).where('id', '=', id).execute();
      rememberWrite(data, sid, json, now);
      return;
    }
    await this.#db
      .insertInto('sessions')
      .values({ id, created_at: now, absolute_expires_at: now + this.#timeouts.absoluteTimeoutMs, ...columns })
      .onConflict((conflict) => conflict.column('id').doUpdateSet(columns))
      .execute();
    markInserted(data, now);
    rememberWrite(data, sid, json, now);
  }

  async recordActivity(sid: string): Promise<void> {
    const now = this.#now();
    await this.#db
      .updateTable('sessions')
      .set({ last_seen_at: now, idle_expires_at: now + this.#timeouts.idleTimeoutMs })
      .where('id', '=', hashSessionId(sid))
      .where('last_seen_at', '<', now - this.#timeouts.touchIntervalMs)
      .execute();
  }

  async listForUser(userId: string): Promise<StoredSessionSummary[]> {
    const now = this.#now();
    const rows = await this.#db
      .selectFrom('sessions')
      .select(['id', 'created_at', 'last_seen_at', 'ip', 'user_agent'])
      .where('user_id', '=', userId)
      .where('idle_expires_at', '>', now)
      .where('absolute_expires_at', '>', now)
      .orderBy('last_seen_at', 'desc')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      createdAt: row.created_at,
      lastSeenAt: row.last_seen_at,
      ip: row.ip,
      userAgent: row.user_agent,
    }));
  }

  /** Ends one of a user's sessions by its hashed id; false when it was not theirs or not there. */
  async revokeForUser(userId: string, hashedId: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('sessions').where('id', '=', hashedId).where('user_id', '=', userId).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Ends every session of a user, except the one whose raw id is given. Returns how many ended. */
  async revokeAllForUser(userId: string, exceptSid?: string): Promise<number> {
    let query = this.#db.deleteFrom('sessions').where('user_id', '=', userId);
    if (exceptSid !== undefined) query = query.where('id', '!=', hashSessionId(exceptSid));
    const result = await query.executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async pruneExpired(): Promise<number> {
    const now = this.#now();
    const result = await this.#db
      .deleteFrom('sessions')
      .where((eb) => eb.or([eb('idle_expires_at', '<=', now), eb('absolute_expires_at', '<=', now)]))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
