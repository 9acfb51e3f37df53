// test/storage/throttle-stores.test.ts
// The counters behind rate limits and sign-in throttling, on every backend a deployment can use
// (the database: SQLite or PostgreSQL; and Redis). What must hold under concurrency: no hit is
// lost, no limit is overshot, and an account never has more attempts evaluated than its delay and
// its cap allow, however many requests (or instances) race for it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKyselyBruteForceStore } from '../../src/storage/brute-force/kysely-brute-force-store.js';
import { delayAfter, type BruteForceStore, type DelaySchedule } from '../../src/storage/brute-force/port.js';
import { createRedisBruteForceStore } from '../../src/storage/brute-force/redis-brute-force-store.js';
import { KyselyRateLimitStore, kyselyWindowCounters } from '../../src/storage/rate-limit/kysely-rate-limit-store.js';
import { createRedisRateLimitStore } from '../../src/storage/rate-limit/redis-rate-limit-store.js';
import type { Store } from 'express-rate-limit';
import { openTestDb } from '../helpers/databases.js';
import { openTestRedis, type TestRedis } from '../helpers/redis.js';

const schedule: DelaySchedule = { throttleAfter: 5, baseDelayMs: 60_000, maxDelayMs: 3_600_000 };
const minute = 60_000;

interface Backend {
  readonly name: string;
  rateLimitStore(name: string): Store;
  readonly bruteForce: BruteForceStore;
}

const backends: { name: string; open: () => Promise<{ backend: Backend; close: () => Promise<void> }> }[] = [
  {
    name: process.env.PORTCULLIS_TEST_DATABASE_URL === undefined ? 'the database (SQLite)' : 'the database (PostgreSQL)',
    open: async () => {
      const testDb = await openTestDb();
      const counters = kyselyWindowCounters(testDb.db);
      return {
        backend: { name: 'database', rateLimitStore: (name) => new KyselyRateLimitStore(counters, `rl:${name}:`), bruteForce: createKyselyBruteForceStore(testDb.db) },
        close: () => testDb.close(),
      };
    },
  },
  {
    name: 'Redis',
    open: async () => {
      const testRedis: TestRedis = await openTestRedis();
      return {
        backend: { name: 'redis', rateLimitStore: (name) => createRedisRateLimitStore(testRedis.redis, name), bruteForce: createRedisBruteForceStore(testRedis.redis) },
        close: () => testRedis.close(),
      };
    },
  },
];

for (const { name, open } of backends) {
  describe(`rate-limit and throttle counters in ${name}`, () => {
    let backend: Backend;
    let close: () => Promise<void>;
    before(async () => {
      ({ backend, close } = await open());
    });
    after(async () => {
      await close();
    });

    it('counts 200 concurrent hits on one key without losing or repeating one', async () => {
      const store = backend.rateLimitStore('concurrent');
      await store.init?.({ windowMs: 60_000 } as never);
      const results = await Promise.all(Array.from({ length: 200 }, async () => await store.increment('203.0.113.1')));
      const hits = results.map((result) => result.totalHits).sort((a, b) => a - b);
      assert.deepEqual(hits, Array.from({ length: 200 }, (_, index) => index + 1));
      const reset = results[0]?.resetTime?.getTime() ?? 0;
      assert.ok(reset > Date.now() + 55_000 && reset <= Date.now() + 60_000, 'the window ends a minute after the first hit');
      await store.decrement('203.0.113.1');
      assert.equal((await store.get?.('203.0.113.1'))?.totalHits, 199);
      await store.resetKey('203.0.113.1');
      assert.equal((await store.increment('203.0.113.1')).totalHits, 1);
    });

    it('starts a new window once the last one has ended', async () => {
      const store = backend.rateLimitStore('windows');
      // A window long enough for four writes on a loaded CI machine; the wait is until the end
      // the store itself reported.
      await store.init?.({ windowMs: 1_000 } as never);
      for (let index = 0; index < 3; index += 1) await store.increment('k');
      const fourth = await store.increment('k');
      assert.equal(fourth.totalHits, 4);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, (fourth.resetTime?.getTime() ?? 0) + 100 - Date.now())));
      assert.equal((await store.increment('k')).totalHits, 1);
    });

    it('keeps each limiter apart', async () => {
      const first = backend.rateLimitStore('first');
      const second = backend.rateLimitStore('second');
      await first.init?.({ windowMs: 60_000 } as never);
      await second.init?.({ windowMs: 60_000 } as never);
      await first.increment('same-key');
      await first.increment('same-key');
      assert.equal((await second.increment('same-key')).totalHits, 1);
    });

    it('never lets 100 concurrent claims past a limit of 10', async () => {
      const counters = backend.bruteForce.counters;
      const results = await Promise.all(Array.from({ length: 100 }, () => counters.incrementBelow('ip:198.51.100.1', 60_000, 10)));
      assert.equal(results.filter((result) => result !== undefined).length, 10);
      assert.equal(await counters.incrementBelow('ip:198.51.100.1', 60_000, 10), undefined);
      await counters.decrement('ip:198.51.100.1');
      assert.equal(await counters.incrementBelow('ip:198.51.100.1', 60_000, 10), 10);
    });

    it('evaluates at most 5 of 50 simultaneous guesses on one account, then delays', async () => {
      const now = Date.now();
      const claims = await Promise.all(Array.from({ length: 50 }, (_, index) => backend.bruteForce.claimUntrusted('account-race', now, schedule, 90, `attempt-${index}`)));
      const allowed = claims.filter((claim) => claim.allowed);
      assert.equal(allowed.length, 5);
      assert.equal(claims.filter((claim) => claim.startsEpisode).length, 1, 'exactly one attempt starts the episode (one email)');
      const state = await backend.bruteForce.state('account-race');
      assert.ok(state);
      assert.equal(state.failures, 5);
      assert.equal(state.lockedUntil, now + minute);
    });

    it('doubles the delay from 1 minute to the 1-hour cap', async () => {
      let now = Date.now();
      const seen: number[] = [];
      for (let attempt = 1; attempt <= 12; attempt += 1) {
        const claim = await backend.bruteForce.claimUntrusted('account-schedule', now, schedule, 90, `a${attempt}`);
        assert.ok(claim.allowed, `attempt ${attempt} is allowed once the previous delay has passed`);
        assert.equal(claim.failures, attempt);
        seen.push(claim.lockedUntil === 0 ? 0 : claim.lockedUntil - now);
        if (claim.lockedUntil > now) {
          const early = await backend.bruteForce.claimUntrusted('account-schedule', claim.lockedUntil - 1, schedule, 90, `early${attempt}`);
          assert.equal(early.allowed, false, `attempt ${attempt} + 1 is refused inside the delay`);
        }
        now = Math.max(now, claim.lockedUntil) + 1;
      }
      assert.deepEqual(
        seen.slice(0, 12),
        [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60].map((minutes) => minutes * minute),
      );
      assert.equal(delayAfter(schedule, 100), 60 * minute);
    });

    it('stops unknown browsers at their cap for good, leaves trusted ones the rest, and never passes the total', async () => {
      const key = 'account-cap';
      const quick: DelaySchedule = { throttleAfter: 5, baseDelayMs: 1, maxDelayMs: 1 };
      let now = Date.now();
      let allowedUntrusted = 0;
      for (let attempt = 0; attempt < 150; attempt += 1) {
        now += 2;
        if ((await backend.bruteForce.claimUntrusted(key, now, quick, 90, `u${attempt}`)).allowed) allowedUntrusted += 1;
      }
      assert.equal(allowedUntrusted, 90);
      now += 3_600_000;
      assert.equal((await backend.bruteForce.claimUntrusted(key, now, quick, 90, 'later')).allowed, false, 'no delay ends the lock: only a success or an unlock');
      const trusted = await Promise.all(Array.from({ length: 30 }, () => backend.bruteForce.claimTrusted(key, now, 100)));
      assert.equal(trusted.filter((claim) => claim.allowed).length, 10, 'trusted browsers share what is left up to 100');
      assert.equal((await backend.bruteForce.state(key))?.failures, 100);
      await backend.bruteForce.reset(key);
      assert.equal(await backend.bruteForce.state(key), undefined);
      assert.equal((await backend.bruteForce.claimUntrusted(key, now, quick, 90, 'after-success')).allowed, true);
    });

    it('lets a trusted browser in during a delay', async () => {
      const now = Date.now();
      for (let attempt = 0; attempt < 5; attempt += 1) await backend.bruteForce.claimUntrusted('account-device', now, schedule, 90, `x${attempt}`);
      assert.equal((await backend.bruteForce.claimUntrusted('account-device', now + 1, schedule, 90, 'y')).allowed, false);
      const trusted = await backend.bruteForce.claimTrusted('account-device', now + 1, 100);
      assert.equal(trusted.allowed, true);
      assert.equal(trusted.failures, 6);
      // The owner's browser signs in: the consecutive count starts again, the delay does not end.
      await backend.bruteForce.trustedSuccess('account-device');
      assert.deepEqual(await backend.bruteForce.state('account-device'), { failures: 0, untrustedFailures: 5, lockedUntil: now + minute });
      assert.equal((await backend.bruteForce.claimUntrusted('account-device', now + 2, schedule, 90, 'z')).allowed, false);
      const next = await backend.bruteForce.claimUntrusted('account-device', now + minute, schedule, 90, 'w');
      assert.equal(next.allowed, true);
      assert.equal(next.lockedUntil, now + minute + 2 * minute, 'and the next delay keeps growing');
      assert.equal(next.startsEpisode, false, 'no second email in the same episode');
    });

    it('spends an unlock link once, and only the newest one', async () => {
      const now = Date.now();
      for (let attempt = 0; attempt < 5; attempt += 1) await backend.bruteForce.claimUntrusted('account-unlock', now, schedule, 90, `z${attempt}`);
      await backend.bruteForce.saveUnlockToken('account-unlock', 'a'.repeat(64), now + minute);
      await backend.bruteForce.saveUnlockToken('account-unlock', 'b'.repeat(64), now + minute);
      assert.equal(await backend.bruteForce.consumeUnlockToken('a'.repeat(64), now), undefined, 'a replaced link does nothing');
      const raced = await Promise.all(Array.from({ length: 8 }, () => backend.bruteForce.consumeUnlockToken('b'.repeat(64), now)));
      assert.deepEqual(raced.filter((result) => result !== undefined), ['account-unlock'], 'one of eight simultaneous clicks wins');
      assert.equal(await backend.bruteForce.state('account-unlock'), undefined, 'the account is clean again');
      assert.equal((await backend.bruteForce.claimUntrusted('account-unlock', now, schedule, 90, 'again')).allowed, true);
    });

    it('refuses an expired unlock link, and one whose account signed in since', async () => {
      const now = Date.now();
      for (let attempt = 0; attempt < 5; attempt += 1) await backend.bruteForce.claimUntrusted('account-expiry', now, schedule, 90, `e${attempt}`);
      await backend.bruteForce.saveUnlockToken('account-expiry', 'c'.repeat(64), now + 200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await backend.bruteForce.consumeUnlockToken('c'.repeat(64), Date.now()), undefined);
      await backend.bruteForce.saveUnlockToken('account-expiry', 'd'.repeat(64), Date.now() + minute);
      await backend.bruteForce.reset('account-expiry');
      assert.equal(await backend.bruteForce.consumeUnlockToken('d'.repeat(64), Date.now()), undefined);
    });
  });
}
