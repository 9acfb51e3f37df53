// test/storage/redis-session-store.test.ts
// Sessions in Redis keep every rule of the database store (storage/sessions/port.ts): entries keyed
// by a hash of the id, idle and absolute limits enforced on every read, a per-user index for
// listing and revoking, and revocation final even for a request that was still in flight.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { SessionData } from 'express-session';
import { hashSessionId } from '../../src/storage/sessions/kysely-session-store.js';
import { RedisSessionStore } from '../../src/storage/sessions/redis-session-store.js';
import { openTestRedis, type TestRedis } from '../helpers/redis.js';
import { checkSignInWrites } from '../helpers/session-store-writes.js';

const minute = 60_000;

function sessionFor(userId?: string): SessionData {
  const stored: unknown = JSON.parse(
    JSON.stringify({
      cookie: { originalMaxAge: null, httpOnly: true, secure: true, sameSite: 'lax', path: '/' },
      ...(userId === undefined ? {} : { userId, client: { ip: '127.0.0.1', userAgent: 'test-agent' } }),
    }),
  );
  return stored as SessionData;
}

describe('RedisSessionStore', () => {
  let testRedis: TestRedis;
  let clock: number;
  let store: RedisSessionStore;
  let run = 0;
  before(async () => {
    testRedis = await openTestRedis();
  });
  beforeEach(() => {
    // Real time: Redis's own expiry runs on it, and the store must not rely on that alone.
    clock = Date.now();
    run += 1;
    store = new RedisSessionStore({ ...testRedis.redis, prefix: `${testRedis.redis.prefix}${run}:` }, { idleTimeoutMs: 30 * minute, absoluteTimeoutMs: 12 * 60 * minute }, () => clock);
  });
  after(async () => {
    await testRedis.close();
  });

  const keysOf = async (pattern: string) => {
    const reply = (await testRedis.redis.command(['KEYS', `${testRedis.redis.prefix}${run}:${pattern}`])) as string[];
    return reply.map((key) => key.slice(`${testRedis.redis.prefix}${run}:`.length));
  };

  it('stores only a SHA-256 hash of the session id, and expires the entry at the idle limit', async () => {
    const sid = 'raw-session-id-that-must-not-be-stored-0123456789';
    await store.writeSession(sid, sessionFor('user-1'));
    assert.deepEqual(await keysOf('sess:*'), [`sess:${hashSessionId(sid)}`]);
    const dump = JSON.stringify(await testRedis.redis.command(['HGETALL', `${testRedis.redis.prefix}${run}:sess:${hashSessionId(sid)}`]));
    assert.equal(dump.includes(sid), false, 'the raw id is not in the entry either');
    const ttl = Number(await testRedis.redis.command(['PTTL', `${testRedis.redis.prefix}${run}:sess:${hashSessionId(sid)}`]));
    assert.ok(ttl > 29 * minute && ttl <= 30 * minute, `Redis expires it with the idle limit (${ttl} ms)`);
  });

  it('ends a session after 30 minutes without activity, even before Redis expires it', async () => {
    await store.writeSession('idle', sessionFor('user-1'));
    clock += 29 * minute;
    assert.ok(await store.readSession('idle'));
    clock += 30 * minute + 1;
    assert.equal(await store.readSession('idle'), null);
    assert.deepEqual(await keysOf('sess:*'), [], 'the expired entry is deleted on read');
  });

  it('keeps an active session alive, but never past the absolute limit of 12 hours', async () => {
    await store.writeSession('busy', sessionFor('user-1'));
    for (let elapsed = 0; elapsed < 12 * 60; elapsed += 20) {
      clock += 20 * minute;
      await store.recordActivity('busy');
      if (elapsed + 20 < 12 * 60) assert.ok(await store.readSession('busy'), `alive after ${elapsed + 20} minutes`);
    }
    assert.equal(await store.readSession('busy'), null);
  });

  it('writes activity at most once a minute per session', async () => {
    await store.writeSession('touchy', sessionFor('user-1'));
    const key = `${testRedis.redis.prefix}${run}:sess:${hashSessionId('touchy')}`;
    const seen = async () => Number(await testRedis.redis.command(['HGET', key, 's']));
    const first = await seen();
    clock += 30_000;
    await store.recordActivity('touchy');
    assert.equal(await seen(), first);
    clock += 31_000;
    await store.recordActivity('touchy');
    assert.equal(await seen(), clock);
  });

  it('does not bring back a session it inserted that was revoked before the same request saved it again', async () => {
    const fresh = sessionFor('user-1');
    await store.writeSession('fresh', fresh);
    assert.equal(await store.revokeAllForUser('user-1'), 1);
    fresh.client = { ip: '10.0.0.1', userAgent: 'x' };
    await store.writeSession('fresh', fresh);
    assert.equal(await store.readSession('fresh'), null);
    assert.deepEqual(await keysOf('sess:*'), []);
  });

  it('does not bring back a session revoked while a request was still using it', async () => {
    await store.writeSession('revoked', sessionFor('user-1'));
    const inFlight = await store.readSession('revoked');
    assert.ok(inFlight);
    assert.equal(await store.revokeAllForUser('user-1'), 1);
    await store.writeSession('revoked', { ...inFlight, client: { ip: '10.0.0.1', userAgent: 'x' } });
    await store.recordActivity('revoked');
    assert.equal(await store.readSession('revoked'), null);
    assert.deepEqual(await keysOf('sess:*'), []);
  });

  it('on sign-in, deletes no session that never existed and writes the new one once, through express-session', async () => {
    await checkSignInWrites({
      store,
      advanceClock: (ms) => {
        clock += ms;
      },
      lastSeenAt: async (sid) => Number(await testRedis.redis.command(['HGET', `${testRedis.redis.prefix}${run}:sess:${hashSessionId(sid)}`, 's'])),
    });
  });

  it("lists a user's live sessions and revokes one by its hashed id, and only theirs", async () => {
    await store.writeSession('a', sessionFor('user-1'));
    clock += 1000;
    await store.writeSession('b', sessionFor('user-1'));
    await store.writeSession('c', sessionFor('user-2'));
    const listed = await store.listForUser('user-1');
    assert.deepEqual(
      listed.map((entry) => entry.id),
      [hashSessionId('b'), hashSessionId('a')],
    );
    const [newest] = listed;
    assert.ok(newest);
    assert.equal(newest.userAgent, 'test-agent');
    assert.equal(newest.ip, '127.0.0.1');
    assert.equal(await store.revokeForUser('user-2', hashSessionId('a')), false, 'another user cannot revoke it');
    assert.equal(await store.revokeForUser('user-1', 'not-a-hash'), false);
    assert.equal(await store.revokeForUser('user-1', hashSessionId('a')), true);
    assert.equal(await store.readSession('a'), null);
    assert.equal(await store.revokeAllForUser('user-1', 'b'), 0, 'the current session is kept');
    assert.ok(await store.readSession('b'));
    assert.equal(await store.revokeAllForUser('user-2'), 1);
    assert.equal(await store.readSession('c'), null);
  });

  it('forgets expired sessions in the per-user index when listing', async () => {
    await store.writeSession('stale', sessionFor('user-9'));
    clock += 31 * minute;
    await store.writeSession('fresh', sessionFor('user-9'));
    assert.deepEqual((await store.listForUser('user-9')).map((entry) => entry.id), [hashSessionId('fresh')]);
    const members = (await testRedis.redis.command(['SMEMBERS', `${testRedis.redis.prefix}${run}:user-sess:user-9`])) as string[];
    assert.deepEqual(members, [hashSessionId('fresh')]);
  });

  it('moves a session between user indexes when its user changes, and keeps the anonymous out of them', async () => {
    await store.writeSession('anon', sessionFor());
    assert.deepEqual(await keysOf('user-sess:*'), []);
    const loaded = await store.readSession('anon');
    assert.ok(loaded);
    await store.writeSession('anon', { ...loaded, userId: 'user-5', client: { ip: '127.0.0.1', userAgent: 'a' } });
    assert.equal((await store.listForUser('user-5')).length, 1);
    const again = await store.readSession('anon');
    assert.ok(again);
    await store.writeSession('anon', { ...again, userId: 'user-6' });
    assert.equal((await store.listForUser('user-5')).length, 0);
    assert.equal((await store.listForUser('user-6')).length, 1);
  });

  it('works through the express-session callback interface', async () => {
    await new Promise<void>((resolve, reject) => {
      store.set('cb', sessionFor('user-3'), (error) => {
        if (error) reject(error instanceof Error ? error : new Error('store callback failed'));
        else resolve();
      });
    });
    const loaded = await new Promise<SessionData | null | undefined>((resolve, reject) => {
      store.get('cb', (error, data) => {
        if (error) reject(error instanceof Error ? error : new Error('store callback failed'));
        else resolve(data);
      });
    });
    assert.equal(loaded?.userId, 'user-3');
    await new Promise<void>((resolve) => {
      store.destroy('cb', () => {
        resolve();
      });
    });
    assert.equal(await store.readSession('cb'), null);
    assert.deepEqual(await store.listForUser('user-3'), []);
  });
});
