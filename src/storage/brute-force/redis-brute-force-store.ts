// src/storage/brute-force/redis-brute-force-store.ts
// The sign-in throttle's state in Redis, for several instances: one hash per account and one key
// per unlock link. Every operation that reads and then writes is one Lua script, which Redis runs
// without interleaving anything else, so the claims are as atomic as the database's upserts.

import { integerReply, luaScript, stringOrNull, type RedisConnection } from '../redis.js';
import { redisWindowCounters } from '../rate-limit/redis-rate-limit-store.js';
import { type AccountClaim, type BruteForceStore } from './port.js';

// KEYS[1] account hash. ARGV: now, cap, throttleAfter, baseDelayMs, maxDelayMs, attemptId, trusted (1/0).
// Fields: f all consecutive failures, t unknown-browser failures (the delay grows with t), l locked
// until, e the episode's first attempt, u the unlock link's hash.
// Returns {allowed, failures, lockedUntil, startsEpisode, untrustedFailures}.
const claimScript = luaScript(`
  local now = tonumber(ARGV[1])
  local cap = tonumber(ARGV[2])
  local after = tonumber(ARGV[3])
  local base = tonumber(ARGV[4])
  local max = tonumber(ARGV[5])
  local trusted = ARGV[7] == '1'
  local failures = tonumber(redis.call('HGET', KEYS[1], 'f') or '0')
  local untrusted = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
  local locked = tonumber(redis.call('HGET', KEYS[1], 'l') or '0')
  if failures >= cap or ((not trusted) and locked > now) then
    return {0, failures, locked, 0, untrusted}
  end
  failures = failures + 1
  local starts = 0
  if not trusted then untrusted = untrusted + 1 end
  if not trusted and untrusted >= after then
    local delay = max
    if untrusted - after < 31 then delay = math.min(max, base * (2 ^ (untrusted - after))) end
    locked = math.floor(now + delay)
    if not redis.call('HGET', KEYS[1], 'e') then
      redis.call('HSET', KEYS[1], 'e', ARGV[6])
      starts = 1
    end
  end
  redis.call('HSET', KEYS[1], 'f', string.format('%d', failures), 't', string.format('%d', untrusted), 'l', string.format('%d', locked))
  return {1, failures, locked, starts, untrusted}
`);

// KEYS[1] account hash. The consecutive count starts again; delays and the episode stay.
const trustedSuccessScript = luaScript(`
  if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'f', '0') end
  return 1
`);

// KEYS[1] account hash. Removes the hash and the unlock link it points at.
const resetScript = luaScript(`
  local token = redis.call('HGET', KEYS[1], 'u')
  if token then redis.call('DEL', ARGV[1] .. token) end
  redis.call('DEL', KEYS[1])
  return 1
`);

// KEYS[1] account hash, KEYS[2] new link key. ARGV: token hash, ttl ms, account key, link prefix.
const saveUnlockScript = luaScript(`
  if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
  local old = redis.call('HGET', KEYS[1], 'u')
  if old then redis.call('DEL', ARGV[4] .. old) end
  redis.call('HSET', KEYS[1], 'u', ARGV[1])
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
  return 1
`);

// KEYS[1] link key. ARGV: token hash, account hash prefix. GETDEL-like: one caller gets the account.
const consumeUnlockScript = luaScript(`
  local account = redis.call('GET', KEYS[1])
  if not account then return false end
  redis.call('DEL', KEYS[1])
  local hash = ARGV[2] .. account
  if redis.call('HGET', hash, 'u') ~= ARGV[1] then return false end
  redis.call('DEL', hash)
  return account
`);

export function createRedisBruteForceStore(redis: RedisConnection): BruteForceStore {
  const accountPrefix = `${redis.prefix}bf:account:`;
  const linkPrefix = `${redis.prefix}bf:unlock:`;

  const claim = async (accountKey: string, args: (string | number)[]): Promise<AccountClaim> => {
    const reply = await redis.script(claimScript, [accountPrefix + accountKey], args);
    const [allowed, failures, lockedUntil, starts, untrusted] = Array.isArray(reply) ? reply : [];
    return {
      allowed: integerReply(allowed) === 1,
      failures: integerReply(failures),
      untrustedFailures: integerReply(untrusted),
      lockedUntil: integerReply(lockedUntil),
      startsEpisode: integerReply(starts) === 1,
    };
  };

  return {
    counters: redisWindowCounters(redis, 'bf:count'),

    claimUntrusted: (accountKey, now, schedule, cap, attemptId) =>
      claim(accountKey, [now, cap, schedule.throttleAfter, schedule.baseDelayMs, schedule.maxDelayMs, attemptId, '0']),

    claimTrusted: (accountKey, now, cap) => claim(accountKey, [now, cap, 1, 0, 0, '', '1']),

    async reset(accountKey) {
      await redis.script(resetScript, [accountPrefix + accountKey], [linkPrefix]);
    },

    async trustedSuccess(accountKey) {
      await redis.script(trustedSuccessScript, [accountPrefix + accountKey], []);
    },

    async state(accountKey) {
      const reply = await redis.command(['HMGET', accountPrefix + accountKey, 'f', 't', 'l']);
      const [failures, untrusted, locked] = Array.isArray(reply) ? reply : [];
      const count = stringOrNull(failures);
      return count === null ? undefined : { failures: Number(count), untrustedFailures: Number(stringOrNull(untrusted) ?? '0'), lockedUntil: Number(stringOrNull(locked) ?? '0') };
    },

    async saveUnlockToken(accountKey, tokenHash, expiresAt) {
      const ttl = Math.max(1, expiresAt - Date.now());
      await redis.script(saveUnlockScript, [accountPrefix + accountKey, linkPrefix + tokenHash], [tokenHash, ttl, accountKey, linkPrefix]);
    },

    async consumeUnlockToken(tokenHash) {
      // Expiry is the key's own TTL.
      const reply = await redis.script(consumeUnlockScript, [linkPrefix + tokenHash], [tokenHash, accountPrefix]);
      return stringOrNull(reply) ?? undefined;
    },

    // Redis expires counters and links itself.
    prune: () => Promise.resolve(0),
  };
}
