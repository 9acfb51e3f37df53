// test/storage/batching-rate-limit.test.ts
// The general limit's store counts in batches (issue 8): what must still hold, on the real
// database (SQLite, or PostgreSQL in CI's second pass) and on a real Redis. A burst over the limit is refused
// before the window ends with at most the documented overshoot (instances × (batch - 1)); two
// instances on one database add up; hits waiting in a batch reach the database at shutdown; a
// key's window resets; and a small limit (batch of 1) stays exact.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Options } from 'express-rate-limit';
import { BatchingRateLimitStore, batchSizeFor, type BatchCounters } from '../../src/storage/rate-limit/batching-rate-limit-store.js';
import { kyselyWindowCounters, type WindowCounters } from '../../src/storage/rate-limit/kysely-rate-limit-store.js';
import { redisWindowCounters } from '../../src/storage/rate-limit/redis-rate-limit-store.js';
import { openTestDb } from '../helpers/databases.js';
import { openTestRedis } from '../helpers/redis.js';

const minute = 60_000;

function options(limit: number, windowMs = minute): Options {
  return { limit, windowMs } as Options;
}

type Counters = BatchCounters & Pick<WindowCounters, 'get'>;

/** The same rules on each shared store the general limit is batched in. */
function batchingSuite(where: string, open: () => Promise<{ counters: Counters; close: () => Promise<void> }>): void {
  describe(`the general limit counted in batches, ${where}`, () => {
    let opened: Awaited<ReturnType<typeof open>>;
    let counters: Counters;
    before(async () => {
      opened = await open();
      counters = opened.counters;
    });
    after(async () => {
      await opened.close();
    });

    function store(prefix: string, limit: number, windowMs = minute, intervalMs = 250): BatchingRateLimitStore {
      const made = new BatchingRateLimitStore(counters, prefix, { intervalMs });
      made.init(options(limit, windowMs));
      return made;
    }

    it('batches 10% of the limit, at most 20; 1 (exact) for small limits', () => {
      assert.equal(batchSizeFor(300), 20);
      assert.equal(batchSizeFor(100), 10);
      assert.equal(batchSizeFor(10), 1);
      assert.equal(batchSizeFor(1), 1);
    });

    it('writes the first hit before answering, then fewer than one write per hit', async () => {
      const one = store('rl:writes:', 300);
      const first = await one.increment('k');
      assert.equal(first.totalHits, 1);
      assert.equal((await counters.get('rl:writes:k'))?.hits, 1, 'the first hit is in the database');
      const reset = first.resetTime?.getTime() ?? 0;
      assert.ok(reset > Date.now() + 55_000 && reset <= Date.now() + minute);
      for (let hit = 2; hit <= 10; hit += 1) assert.equal((await one.increment('k')).totalHits, hit);
      assert.equal((await counters.get('rl:writes:k'))?.hits, 1, 'the next nine wait in memory');
      await one.shutdown();
    });

    it('refuses a burst over the limit from one instance with at most batch - 1 extra', async () => {
      const limit = 300;
      const one = store('rl:burst:', limit);
      const answers = await Promise.all(Array.from({ length: 600 }, async () => (await one.increment('203.0.113.9')).totalHits));
      const admitted = answers.filter((hits) => hits <= limit).length;
      assert.ok(admitted >= limit - batchSizeFor(limit) && admitted <= limit + batchSizeFor(limit) - 1, `admitted ${admitted}`);
      // Sequential hits after the burst: all refused.
      for (let index = 0; index < 30; index += 1) assert.ok((await one.increment('203.0.113.9')).totalHits > limit);
      await one.shutdown();
      assert.equal((await counters.get('rl:burst:203.0.113.9'))?.hits, 630, 'every hit reached the database');
    });

    it('adds two instances up, and stops a burst spread over both within 2 × (batch - 1)', async () => {
      const limit = 200;
      const batch = batchSizeFor(limit);
      const a = store('rl:two:', limit);
      const b = store('rl:two:', limit);
      let admitted = 0;
      // Interleaved, as a balancer would spread them; each instance's answers are its own view.
      for (let index = 0; index < 600; index += 1) {
        const answer = await (index % 2 === 0 ? a : b).increment('198.51.100.7');
        if (answer.totalHits <= limit) admitted += 1;
      }
      assert.ok(admitted <= limit + 2 * (batch - 1), `admitted ${admitted}`);
      assert.ok(admitted >= limit - 2 * batch, `admitted ${admitted}: not refusing early either`);
      await Promise.all([a.shutdown(), b.shutdown()]);
      assert.equal((await counters.get('rl:two:198.51.100.7'))?.hits, 600, 'both instances counted every hit');
    });

    it('learns of the other instance on its next write: a stale view admits fewer than a batch', async () => {
      const limit = 100;
      const batch = batchSizeFor(limit);
      const a = store('rl:stale:', limit);
      const b = store('rl:stale:', limit);
      await a.increment('k');
      // b takes the key far over its limit; a has not written since its first hit.
      for (let index = 0; index < 150; index += 1) await b.increment('k');
      await b.flush();
      let admitted = 0;
      for (let index = 0; index < 50; index += 1) if ((await a.increment('k')).totalHits <= limit) admitted += 1;
      assert.ok(admitted <= batch - 1, `a admitted ${admitted} on a stale view`);
      await Promise.all([a.shutdown(), b.shutdown()]);
    });

    it('writes the hits waiting in a batch at shutdown', async () => {
      const one = store('rl:close:', 300, minute, 60_000);
      for (let index = 0; index < 7; index += 1) await one.increment('k');
      assert.equal((await counters.get('rl:close:k'))?.hits, 1);
      await one.shutdown();
      assert.equal((await counters.get('rl:close:k'))?.hits, 7);
    });

    it('writes the hits waiting in a batch after the interval', async () => {
      const one = store('rl:timer:', 300, minute, 50);
      for (let index = 0; index < 5; index += 1) await one.increment('k');
      await new Promise((resolve) => setTimeout(resolve, 200));
      await one.flush();
      assert.equal((await counters.get('rl:timer:k'))?.hits, 5);
      await one.shutdown();
    });

    it('drops the hits of a window that ended before their batch was written (a late timer)', async () => {
      // The store's clock runs a window ahead of the shared store's, as a timer firing late on a
      // busy event loop would see it: the waiting hits belong to an ended window.
      const clock = { skew: 0 };
      const late = new BatchingRateLimitStore(counters, 'rl:late:', { intervalMs: 60_000, now: () => Date.now() + clock.skew });
      late.init(options(300, minute));
      for (let index = 0; index < 5; index += 1) await late.increment('k');
      assert.equal((await counters.get('rl:late:k'))?.hits, 1, 'only the first hit written so far');
      clock.skew = minute + 1_000;
      await late.flush();
      assert.equal((await counters.get('rl:late:k'))?.hits, 1, 'the ended window’s hits were not carried into the shared count');
      await late.shutdown();
      assert.equal((await counters.get('rl:late:k'))?.hits, 1);
    });

    it("starts a key's new window once the last one has ended", async () => {
      // The interval is longer than the window, so no timer writes the waiting hits: the test
      // does not depend on how late a timer fires on a loaded machine. (A batch sent just before
      // a window's end that reaches the store after it is counted in the next window, at most
      // batch - 1 hits too many, never too few; the late-timer test above covers a timer that fires
      // after the end.)
      const windowMs = 1_500;
      const one = store('rl:window:', 300, windowMs, 60_000);
      for (let index = 0; index < 4; index += 1) await one.increment('k');
      const fifth = await one.increment('k');
      assert.equal(fifth.totalHits, 5);
      const ended = (fifth.resetTime?.getTime() ?? 0) + 100 - Date.now();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, ended)));
      const fresh = await one.increment('k');
      assert.equal(fresh.totalHits, 1, 'the new window counts from its first hit');
      assert.ok((fresh.resetTime?.getTime() ?? 0) > (fifth.resetTime?.getTime() ?? 0) + windowMs / 2, "the new window's end");
      await one.shutdown();
      assert.equal((await counters.get('rl:window:k'))?.hits, 1, 'the ended window left nothing behind');
    });

    it('forgets a key on resetKey, and gives back a hit on decrement', async () => {
      const one = store('rl:reset:', 300);
      for (let index = 0; index < 3; index += 1) await one.increment('k');
      await one.decrement('k');
      assert.equal((await one.get('k'))?.totalHits, 2);
      await one.resetKey('k');
      assert.equal(await counters.get('rl:reset:k'), undefined);
      assert.equal((await one.increment('k')).totalHits, 1);
      await one.shutdown();
    });

    it('stays exact with a batch of 1 (small limits)', async () => {
      const one = store('rl:exact:', 10);
      for (let hit = 1; hit <= 12; hit += 1) {
        assert.equal((await one.increment('k')).totalHits, hit);
        assert.equal((await counters.get('rl:exact:k'))?.hits, hit);
      }
      await one.shutdown();
    });
  });
}

batchingSuite('in the database', async () => {
  const testDb = await openTestDb();
  return { counters: kyselyWindowCounters(testDb.db), close: () => testDb.close() };
});

// In Redis too (the same Lua-backed counters the sign-in throttle uses): a throwaway redis-server,
// or PORTCULLIS_TEST_REDIS_URL in CI's second pass.
batchingSuite('in Redis', async () => {
  const testRedis = await openTestRedis();
  return { counters: redisWindowCounters(testRedis.redis, 'batched'), close: () => testRedis.close() };
});
