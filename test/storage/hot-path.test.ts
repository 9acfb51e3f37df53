// test/storage/hot-path.test.ts
// What issue 8's profile changed in storage keeps its meaning: SQLite statements compiled once
// and reused (never while one is still being read), a signed-in request that only reads its session
// writes nothing, and a client already over its rate limit is refused from memory until its
// window ends, with the same answers the shared store would give.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import type { SessionData } from 'express-session';
import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from 'express-rate-limit';
import { withStatementCache, type Db } from '../../src/storage/database.js';
import { KyselySessionStore } from '../../src/storage/sessions/kysely-session-store.js';
import { RefusalCachingStore } from '../../src/storage/rate-limit/refusal-cache.js';
import { openTestDb } from '../helpers/databases.js';

const minute = 60_000;

describe('the SQLite statement cache', () => {
  it('compiles each SQL text once and hands back the same statement', () => {
    const sqlite = new SqliteDatabase(':memory:');
    const cached = withStatementCache(sqlite);
    const first = cached.prepare('select 1 as one');
    assert.equal(cached.prepare('select 1 as one'), first);
    assert.notEqual(cached.prepare('select 2 as two'), first);
    cached.close();
  });

  it('prepares a fresh statement while the cached one is still being iterated', () => {
    const sqlite = new SqliteDatabase(':memory:');
    const cached = withStatementCache(sqlite);
    const text = 'select value from json_each(?)';
    const reading = cached.prepare(text);
    const rows = reading.iterate(['[1,2,3]']);
    const first: unknown = rows.next().value;
    assert.deepEqual(first, { value: 1 });
    const other = cached.prepare(text);
    assert.notEqual(other, reading, 'a busy statement is not shared');
    assert.deepEqual(other.all(['[7]']), [{ value: 7 }]);
    assert.deepEqual([...rows], [{ value: 2 }, { value: 3 }], 'the first reader still reads its own rows');
    cached.close();
  });

  it('keeps at most its capacity of statements, dropping the oldest', () => {
    const sqlite = new SqliteDatabase(':memory:');
    const cached = withStatementCache(sqlite, 2);
    const one = cached.prepare('select 1');
    cached.prepare('select 2');
    cached.prepare('select 3');
    assert.notEqual(cached.prepare('select 1'), one, 'the oldest was dropped and compiled again');
    cached.close();
  });
});

describe('recording session activity', () => {
  let testDb: Awaited<ReturnType<typeof openTestDb>>;
  let db: Db;
  let clock: number;
  let store: KyselySessionStore;
  const signedIn = (): SessionData => JSON.parse(JSON.stringify({ cookie: { originalMaxAge: null, path: '/' }, userId: 'u1', client: { ip: '127.0.0.1', userAgent: 'test' } })) as SessionData;
  const lastSeen = async (sid: string) => {
    const rows = await db.selectFrom('sessions').select('last_seen_at').execute();
    assert.equal(rows.length, 1, sid);
    return rows[0]?.last_seen_at;
  };
  const touch = (sid: string, data: SessionData) =>
    new Promise<void>((resolve, reject) => {
      store.touch(sid, data, (error) => {
        if (error === undefined || error === null) resolve();
        else reject(error instanceof Error ? error : new Error('touch failed'));
      });
    });

  before(async () => {
    testDb = await openTestDb();
    db = testDb.db;
  });
  after(async () => {
    await testDb.close();
  });
  beforeEach(async () => {
    await db.deleteFrom('sessions').execute();
    clock = Date.parse('2026-01-01T00:00:00Z');
    store = new KyselySessionStore(db, { idleTimeoutMs: 30 * minute, absoluteTimeoutMs: 12 * 60 * minute, touchIntervalMs: minute }, () => clock);
  });

  it('tells the session when its activity was last recorded, and never stores that', async () => {
    await store.writeSession('sid-a', signedIn());
    const loaded = await store.readSession('sid-a');
    if (loaded === null) throw new Error('no session');
    assert.equal(loaded.seenAt, clock);
    clock += 5_000;
    await store.writeSession('sid-a', loaded);
    const row = await db.selectFrom('sessions').select('data').executeTakeFirstOrThrow();
    assert.equal((JSON.parse(row.data) as Record<string, unknown>).seenAt, undefined);
  });

  it('runs no statement when a session read within the interval is touched', async () => {
    await store.writeSession('sid-b', signedIn());
    const loaded = await store.readSession('sid-b');
    if (loaded === null) throw new Error('no session');
    // Moved back behind the store's back after the read: an UPDATE would now change the row, so
    // the row staying as it is shows the touch trusted what it had read and asked nothing.
    const old = clock - 10 * minute;
    await db.updateTable('sessions').set({ last_seen_at: old }).execute();
    clock += 30_000;
    await touch('sid-b', loaded);
    assert.equal(await lastSeen('sid-b'), old);
  });

  it('records activity when the session was last seen longer ago than the interval', async () => {
    await store.writeSession('sid-c', signedIn());
    clock += 2 * minute;
    const loaded = await store.readSession('sid-c');
    if (loaded === null) throw new Error('no session');
    await touch('sid-c', loaded);
    assert.equal(await lastSeen('sid-c'), clock);
  });
});

/** A shared store that counts every call, with fixed windows like the real ones. */
class CountingStore implements Store {
  readonly prefix = 'rl:test:';
  calls = 0;
  readonly #hits = new Map<string, { hits: number; resetAt: number }>();
  constructor(private readonly clock: () => number, private readonly windowMs: number) {}
  init(_options: Options): void {
    // nothing to set up
  }
  get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const entry = this.#hits.get(key);
    return Promise.resolve(entry === undefined ? undefined : { totalHits: entry.hits, resetTime: new Date(entry.resetAt) });
  }
  increment(key: string): Promise<IncrementResponse> {
    this.calls += 1;
    const now = this.clock();
    const entry = this.#hits.get(key);
    const next = entry === undefined || entry.resetAt <= now ? { hits: 1, resetAt: now + this.windowMs } : { hits: entry.hits + 1, resetAt: entry.resetAt };
    this.#hits.set(key, next);
    return Promise.resolve({ totalHits: next.hits, resetTime: new Date(next.resetAt) });
  }
  decrement(): Promise<void> {
    return Promise.resolve();
  }
  resetKey(key: string): Promise<void> {
    this.#hits.delete(key);
    return Promise.resolve();
  }
}

describe('refusals answered from memory', () => {
  const windowMs = 15 * minute;
  let clock: number;
  let inner: CountingStore;
  let store: RefusalCachingStore;
  beforeEach(() => {
    clock = Date.parse('2026-01-01T00:00:00Z');
    inner = new CountingStore(() => clock, windowMs);
    store = new RefusalCachingStore(inner, () => clock, 3);
    void store.init({ limit: 3 } as Options);
  });

  it('asks the shared store until a key is over its limit, then stops asking until the window ends', async () => {
    const totals: number[] = [];
    for (let index = 0; index < 10; index += 1) totals.push((await store.increment('1.2.3.4')).totalHits);
    assert.deepEqual(totals, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(inner.calls, 4, 'the fourth answer said "over"; the next six came from memory');
    const refused = await store.increment('1.2.3.4');
    assert.equal(refused.resetTime?.getTime(), Date.parse('2026-01-01T00:15:00Z'), 'the window end the store gave');
    clock += windowMs;
    assert.equal((await store.increment('1.2.3.4')).totalHits, 1, 'a new window: the shared count again');
    assert.equal(inner.calls, 5);
  });

  it('keeps other keys on the shared store', async () => {
    for (let index = 0; index < 5; index += 1) await store.increment('over');
    await store.increment('under');
    assert.equal((await store.increment('under')).totalHits, 2);
    assert.equal(inner.calls, 4 + 2);
  });

  it('forgets a key that is reset', async () => {
    for (let index = 0; index < 5; index += 1) await store.increment('k');
    await store.resetKey('k');
    assert.equal((await store.increment('k')).totalHits, 1);
  });

  it('answers refusalOf from memory only: nothing for a key not yet over, a counted refusal while over, nothing after the window', async () => {
    assert.equal(store.refusalOf('1.2.3.4'), undefined, 'never seen');
    for (let index = 0; index < 3; index += 1) await store.increment('1.2.3.4');
    assert.equal(store.refusalOf('1.2.3.4'), undefined, 'at the limit, not over it');
    await store.increment('1.2.3.4');
    const callsWhenOver = inner.calls;
    assert.deepEqual(store.refusalOf('1.2.3.4'), { totalHits: 5, resetAt: Date.parse('2026-01-01T00:15:00Z') });
    assert.equal(store.refusalOf('1.2.3.4')?.totalHits, 6, 'each refusal is a hit');
    assert.equal((await store.increment('1.2.3.4')).totalHits, 7, 'increment and refusalOf share one count');
    assert.equal(inner.calls, callsWhenOver, 'the shared store was not asked');
    clock += windowMs;
    assert.equal(store.refusalOf('1.2.3.4'), undefined, 'the window ended: ask the store again');
    assert.equal((await store.increment('1.2.3.4')).totalHits, 1);
  });

  it('remembers a bounded number of keys, and the store answers for the rest', async () => {
    for (const key of ['a', 'b', 'c', 'd']) for (let index = 0; index < 4; index += 1) await store.increment(key);
    assert.equal(store.size, 3);
    const before = inner.calls;
    await store.increment('d');
    assert.equal(inner.calls, before + 1, 'the key that did not fit is still refused by the store');
  });
});
