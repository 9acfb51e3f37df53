// src/storage/sessions/redis-session-store.ts
// express-session's store in Redis, for several instances, with the rules of KyselySessionStore
// (see port.ts). Not connect-redis: connect-redis keys entries by the raw session id (a copy of
// Redis would hold working cookies), saves with a plain SET (a request in flight brings a revoked
// session back), refreshes one TTL (no absolute lifetime on the server) and can find a user's
// sessions only by scanning every key. Here:
//   sess:<sha256(id)>  a hash: data, user, created, last seen, idle and absolute expiry, ip, agent;
//                      Redis expires it at the earlier of the two limits.
//   user-sess:<user>   the set of a user's hashed ids, for listing and revoking.
// Every read-modify-write is one Lua script, so revocation and an in-flight save cannot interleave.

import type { Request } from 'express';
import session from 'express-session';
import { AppError } from '../../errors/app-error.js';
import { arrayReply, integerReply, luaScript, stringOrNull, type RedisConnection, type RedisReply } from '../redis.js';
import { hashSessionId, isRecentlySeen, markInserted, regenerateSkippingUnstored, rememberWrite, writtenJustNow, type SessionTimeouts, type StoredSessionSummary } from './kysely-session-store.js';
import type { SessionStorePort } from './port.js';

type Callback<T = void> = (error?: unknown, value?: T) => void;

function settle<T>(promise: Promise<T>, callback: Callback<T> | undefined): void {
  promise.then(
    (value) => callback?.(null, value),
    (error: unknown) => callback?.(error),
  );
}

// KEYS[1] session hash, KEYS[2] the new user's set ('' when anonymous).
// ARGV: data, user, now, idle expiry, absolute expiry (for a new entry), ip, agent, hashed id,
//       user-set prefix, absolute lifetime ms, mode ('update': only if it exists).
const writeScript = luaScript(`
  local exists = redis.call('EXISTS', KEYS[1]) == 1
  if ARGV[11] == 'update' and not exists then return 0 end
  local absolute = tonumber(ARGV[5])
  if exists then
    absolute = tonumber(redis.call('HGET', KEYS[1], 'a'))
    local previous = redis.call('HGET', KEYS[1], 'u')
    if previous and previous ~= '' and previous ~= ARGV[2] then
      redis.call('SREM', ARGV[9] .. previous, ARGV[8])
    end
  else
    redis.call('HSET', KEYS[1], 'c', ARGV[3], 'a', ARGV[5])
  end
  redis.call('HSET', KEYS[1], 'd', ARGV[1], 'u', ARGV[2], 's', ARGV[3], 'i', ARGV[4], 'ip', ARGV[6], 'ua', ARGV[7])
  redis.call('PEXPIREAT', KEYS[1], math.min(tonumber(ARGV[4]), absolute))
  if ARGV[2] ~= '' then
    redis.call('SADD', KEYS[2], ARGV[8])
    redis.call('PEXPIRE', KEYS[2], ARGV[10])
  end
  return 1
`);

// KEYS[1] session hash. ARGV: now, idle ms, touch interval ms.
const touchScript = luaScript(`
  local seen = tonumber(redis.call('HGET', KEYS[1], 's') or '-1')
  if seen < 0 then return 0 end
  local now = tonumber(ARGV[1])
  if seen >= now - tonumber(ARGV[3]) then return 0 end
  local idle = now + tonumber(ARGV[2])
  redis.call('HSET', KEYS[1], 's', ARGV[1], 'i', string.format('%d', idle))
  redis.call('PEXPIREAT', KEYS[1], math.min(idle, tonumber(redis.call('HGET', KEYS[1], 'a'))))
  return 1
`);

// KEYS[1] session hash. ARGV: user-set prefix, hashed id.
const destroyScript = luaScript(`
  local user = redis.call('HGET', KEYS[1], 'u')
  redis.call('DEL', KEYS[1])
  if user and user ~= '' then redis.call('SREM', ARGV[1] .. user, ARGV[2]) end
  return 1
`);

// KEYS[1] the user's set. ARGV: session prefix, user, now. Returns live entries; drops dead members.
const listScript = luaScript(`
  local now = tonumber(ARGV[3])
  local out = {}
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
    local f = redis.call('HMGET', ARGV[1] .. id, 'u', 'c', 's', 'i', 'a', 'ip', 'ua')
    if f[1] == ARGV[2] and tonumber(f[4]) > now and tonumber(f[5]) > now then
      table.insert(out, {id, f[2], f[3], f[6], f[7]})
    else
      redis.call('SREM', KEYS[1], id)
    end
  end
  return out
`);

// KEYS[1] session hash, KEYS[2] the user's set. ARGV: user, hashed id.
const revokeOneScript = luaScript(`
  if redis.call('HGET', KEYS[1], 'u') ~= ARGV[1] then return 0 end
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[2])
  return 1
`);

// KEYS[1] the user's set. ARGV: session prefix, user, hashed id to keep ('' for none).
const revokeAllScript = luaScript(`
  local ended = 0
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
    if id ~= ARGV[3] then
      if redis.call('HGET', ARGV[1] .. id, 'u') == ARGV[2] then
        redis.call('DEL', ARGV[1] .. id)
        ended = ended + 1
      end
      redis.call('SREM', KEYS[1], id)
    end
  end
  return ended
`);

function field(reply: RedisReply | undefined): string {
  return stringOrNull(reply) ?? '';
}

export class RedisSessionStore extends session.Store implements SessionStorePort {
  readonly #redis: RedisConnection;
  readonly #timeouts: Required<SessionTimeouts>;
  readonly #now: () => number;
  readonly #sessionPrefix: string;
  readonly #userPrefix: string;

  constructor(redis: RedisConnection, timeouts: SessionTimeouts, now: () => number = Date.now) {
    super();
    this.#redis = redis;
    this.#timeouts = { touchIntervalMs: 60_000, ...timeouts };
    this.#now = now;
    this.#sessionPrefix = `${redis.prefix}sess:`;
    this.#userPrefix = `${redis.prefix}user-sess:`;
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
    const id = hashSessionId(sid);
    settle(this.#redis.script(destroyScript, [this.#sessionPrefix + id], [this.#userPrefix, id]).then(() => undefined), callback);
  }

  override touch(sid: string, data: session.SessionData, callback?: Callback): void {
    // As in KyselySessionStore: activity recorded within the interval (known from the read) needs
    // no script run, which saves a round trip to Redis on almost every request.
    if (isRecentlySeen(data, this.#now(), this.#timeouts.touchIntervalMs)) {
      callback?.();
      return;
    }
    settle(this.recordActivity(sid), callback);
  }

  async readSession(sid: string): Promise<session.SessionData | null> {
    const id = hashSessionId(sid);
    const reply = arrayReply(await this.#redis.command(['HMGET', this.#sessionPrefix + id, 'd', 'i', 'a', 's']));
    const [data, idle, absolute, seen] = reply.map(field);
    if (data === undefined || data === '') return null;
    const now = this.#now();
    // Redis expires the entry too; this holds even when clocks or TTLs disagree by a little.
    if (now >= Number(idle) || now >= Number(absolute)) {
      await this.#redis.script(destroyScript, [this.#sessionPrefix + id], [this.#userPrefix, id]);
      return null;
    }
    const parsed = JSON.parse(data) as session.SessionData;
    parsed.persisted = true;
    if (seen !== undefined && seen !== '') parsed.seenAt = Number(seen);
    return parsed;
  }

  async writeSession(sid: string, data: session.SessionData): Promise<void> {
    const id = hashSessionId(sid);
    const now = this.#now();
    const { persisted, seenAt: _seenAt, ...rest } = data;
    const json = JSON.stringify(rest);
    if (writtenJustNow(data, sid, json, now, this.#timeouts.touchIntervalMs)) return;
    const user = rest.userId ?? '';
    await this.#redis.script(
      writeScript,
      [this.#sessionPrefix + id, user === '' ? this.#userPrefix : this.#userPrefix + user],
      [
        json,
        user,
        now,
        now + this.#timeouts.idleTimeoutMs,
        now + this.#timeouts.absoluteTimeoutMs,
        rest.client?.ip ?? '',
        rest.client?.userAgent.slice(0, 512) ?? '',
        id,
        this.#userPrefix,
        this.#timeouts.absoluteTimeoutMs,
        // Loaded from the store: if it is gone now, it was revoked or expired meanwhile. Stay gone.
        persisted === true ? 'update' : 'insert',
      ],
    );
    if (persisted !== true) markInserted(data, now);
    rememberWrite(data, sid, json, now);
  }

  async recordActivity(sid: string): Promise<void> {
    await this.#redis.script(touchScript, [this.#sessionPrefix + hashSessionId(sid)], [this.#now(), this.#timeouts.idleTimeoutMs, this.#timeouts.touchIntervalMs]);
  }

  async listForUser(userId: string): Promise<StoredSessionSummary[]> {
    const rows = arrayReply(await this.#redis.script(listScript, [this.#userPrefix + userId], [this.#sessionPrefix, userId, this.#now()]));
    return rows
      .map((row) => {
        const [id, created, seen, ip, agent] = arrayReply(row).map(field);
        return { id: id ?? '', createdAt: Number(created), lastSeenAt: Number(seen), ip: ip === '' || ip === undefined ? null : ip, userAgent: agent === '' || agent === undefined ? null : agent };
      })
      .sort((a, b) => b.lastSeenAt - a.lastSeenAt);
  }

  async revokeForUser(userId: string, hashedId: string): Promise<boolean> {
    // Hashed ids are hex digests; anything else cannot name an entry (and must not build a key).
    if (!/^[0-9a-f]{64}$/.test(hashedId)) return false;
    const reply = await this.#redis.script(revokeOneScript, [this.#sessionPrefix + hashedId, this.#userPrefix + userId], [userId, hashedId]);
    return integerReply(reply) === 1;
  }

  async revokeAllForUser(userId: string, exceptSid?: string): Promise<number> {
    const keep = exceptSid === undefined ? '' : hashSessionId(exceptSid);
    return integerReply(await this.#redis.script(revokeAllScript, [this.#userPrefix + userId], [this.#sessionPrefix, userId, keep]));
  }

  /** Redis expires entries by itself; user sets are cleaned when listed or revoked. */
  pruneExpired(): Promise<number> {
    return Promise.resolve(0);
  }

  /** For tests and `portcullis check`-style audits: how many session entries exist. */
  async count(): Promise<number> {
    let cursor = '0';
    let total = 0;
    // Bounded: SCAN walks the keyspace once; a cursor of 0 ends it.
    for (let rounds = 0; rounds < 100_000; rounds += 1) {
      const reply = arrayReply(await this.#redis.command(['SCAN', cursor, 'MATCH', `${this.#sessionPrefix}*`, 'COUNT', '1000']));
      cursor = field(reply[0]);
      total += arrayReply(reply[1] ?? []).length;
      if (cursor === '0') return total;
    }
    throw new AppError('INTERNAL');
  }
}
