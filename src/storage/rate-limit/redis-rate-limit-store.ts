// src/storage/rate-limit/redis-rate-limit-store.ts
// Rate-limit counters in Redis: express-rate-limit's Store is rate-limit-redis (its Lua increment
// is atomic across instances) over our node-redis connection; the sign-in throttle's windowed
// counters are Lua scripts of our own with the same guarantees.

import { createHash } from 'node:crypto';
import { RedisStore } from 'rate-limit-redis';
import type { Store } from 'express-rate-limit';
import { integerReply, luaScript, stringOrNull, type LuaScript, type RedisConnection, type RedisReply } from '../redis.js';
import type { BatchCounters } from './batching-rate-limit-store.js';
import type { WindowCounters } from './kysely-rate-limit-store.js';

type LibraryReply = boolean | number | string | (boolean | number | string)[];

function toLibraryReply(reply: RedisReply): LibraryReply {
  if (Array.isArray(reply)) return reply.map((item) => (item === null || typeof item === 'object' ? false : item));
  if (reply === null || typeof reply === 'object') return false;
  return reply;
}

/**
 * rate-limit-redis loads its scripts with SCRIPT LOAD once, at start; if Redis is down then, or
 * restarts later without them, its promise of a SHA stays rejected for good. Here SCRIPT LOAD is
 * answered locally (the SHA is the script's SHA-1) and EVALSHA goes through the connection's
 * script runner, which sends the script again whenever Redis does not know it.
 */
function sendCommandFor(redis: RedisConnection): (...args: string[]) => Promise<LibraryReply> {
  const scripts = new Map<string, LuaScript>();
  return async (...args: string[]) => {
    const [name = '', ...rest] = args;
    const upper = name.toUpperCase();
    if (upper === 'SCRIPT' && rest[0]?.toUpperCase() === 'LOAD' && rest[1] !== undefined) {
      // The exact text it sent, keyed by its SHA-1 (what Redis itself would answer).
      const script = { source: rest[1], sha: sha1(rest[1]) };
      scripts.set(script.sha, script);
      return script.sha;
    }
    if (upper === 'EVALSHA' && rest[0] !== undefined) {
      const script = scripts.get(rest[0]);
      const keyCount = Number(rest[1] ?? '0');
      if (script !== undefined) return toLibraryReply(await redis.script(script, rest.slice(2, 2 + keyCount), rest.slice(2 + keyCount)));
    }
    return toLibraryReply(await redis.command(args));
  };
}

function sha1(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex');
}

/** express-rate-limit's Store in Redis for one limiter; `name` keeps each limiter's keys apart. */
export function createRedisRateLimitStore(redis: RedisConnection, name: string): Store {
  return new RedisStore({ sendCommand: sendCommandFor(redis), prefix: `${redis.prefix}rl:${name}:` });
}

// Adds ARGV[2] (one, or a batch of hits: batching-rate-limit-store.ts) in the current window.
const incrementScript = luaScript(`
  local window = tonumber(ARGV[1])
  local by = tonumber(ARGV[2])
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl <= 0 then
    redis.call('SET', KEYS[1], by, 'PX', window)
    return {by, window}
  end
  return {redis.call('INCRBY', KEYS[1], by), ttl}
`);

// Adds one only below the limit (or in a new window): the check and the add cannot be split.
const incrementBelowScript = luaScript(`
  local window = tonumber(ARGV[1])
  local max = tonumber(ARGV[2])
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl <= 0 then
    redis.call('SET', KEYS[1], 1, 'PX', window)
    return 1
  end
  local hits = tonumber(redis.call('GET', KEYS[1]) or '0')
  if hits >= max then return false end
  return redis.call('INCR', KEYS[1])
`);

const decrementScript = luaScript(`
  local hits = tonumber(redis.call('GET', KEYS[1]) or '0')
  if hits > 0 then redis.call('DECR', KEYS[1]) end
  return 1
`);

/**
 * Windowed counters in Redis, keys expiring with their window: the sign-in throttle's per-address
 * and per-device counts, and the general limit's batches (batching-rate-limit-store.ts).
 */
export function redisWindowCounters(redis: RedisConnection, namespace: string): WindowCounters & BatchCounters {
  const keyOf = (key: string) => `${redis.prefix}${namespace}:${key}`;
  return {
    async increment(key, windowMs) {
      return this.incrementBy(key, windowMs, 1);
    },
    async incrementBy(key, windowMs, by) {
      const reply = await redis.script(incrementScript, [keyOf(key)], [windowMs, by]);
      const [hits, ttl] = Array.isArray(reply) ? reply : [];
      return { hits: integerReply(hits), resetAt: Date.now() + integerReply(ttl) };
    },
    async incrementBelow(key, windowMs, max) {
      const reply = await redis.script(incrementBelowScript, [keyOf(key)], [windowMs, max]);
      return reply === null ? undefined : integerReply(reply);
    },
    async decrement(key) {
      await redis.script(decrementScript, [keyOf(key)], []);
    },
    async get(key) {
      const [hits, ttl] = await Promise.all([redis.command(['GET', keyOf(key)]), redis.command(['PTTL', keyOf(key)])]);
      const count = stringOrNull(hits);
      const remaining = integerReply(ttl);
      return count === null || remaining <= 0 ? undefined : { hits: Number(count), resetAt: Date.now() + remaining };
    },
    async reset(key) {
      await redis.command(['DEL', keyOf(key)]);
    },
  };
}
