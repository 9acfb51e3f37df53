// test/storage/session-store.test.ts
// Sessions live on the server: rows keyed by a hash of the id, idle and absolute limits enforced
// on every read, revocation final even for a request that was still in flight.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import session, { type SessionData } from 'express-session';
import { regenerateSession, saveSession } from '../../src/web/session-state.js';
import type { Db } from '../../src/storage/database.js';
import { openTestDb } from '../helpers/databases.js';
import { checkSignInWrites } from '../helpers/session-store-writes.js';
import { hashSessionId, KyselySessionStore } from '../../src/storage/sessions/kysely-session-store.js';

const minute = 60_000;

function sessionFor(userId?: string): SessionData {
  // What express-session hands a store: the cookie serialised as plain data, plus our fields.
  const stored: unknown = JSON.parse(
    JSON.stringify({
      cookie: { originalMaxAge: null, httpOnly: true, secure: true, sameSite: 'lax', path: '/' },
      ...(userId === undefined ? {} : { userId, client: { ip: '127.0.0.1', userAgent: 'test-agent' } }),
    }),
  );
  return stored as SessionData;
}

describe('KyselySessionStore', () => {
  let testDb: Awaited<ReturnType<typeof openTestDb>>;
  let db: Db;
  let clock: number;
  let store: KyselySessionStore;
  before(async () => {
    testDb = await openTestDb();
    db = testDb.db;
  });
  beforeEach(async () => {
    await db.deleteFrom('sessions').execute();
    clock = Date.parse('2026-01-01T00:00:00Z');
    store = new KyselySessionStore(db, { idleTimeoutMs: 30 * minute, absoluteTimeoutMs: 12 * 60 * minute }, () => clock);
  });
  after(async () => {
    await testDb.close();
  });

  it('stores only a SHA-256 hash of the session id', async () => {
    const sid = 'raw-session-id-that-must-not-be-stored-0123456789';
    await store.writeSession(sid, sessionFor('user-1'));
    const rows = await db.selectFrom('sessions').select('id').execute();
    assert.deepEqual(rows, [{ id: hashSessionId(sid) }]);
    if (testDb.database.config.kind !== 'sqlite') return;
    // On SQLite, read the raw files too: the id must not be anywhere on disk.
    const filename = testDb.database.config.filename;
    const files = await Promise.all([filename, `${filename}-wal`].map((name) => readFile(name).catch(() => Buffer.alloc(0))));
    for (const bytes of files) assert.equal(bytes.includes(sid), false, 'the raw id is nowhere in the database files');
    assert.ok(path.isAbsolute(filename));
  });

  it('ends a session after 30 minutes without activity', async () => {
    await store.writeSession('idle', sessionFor('user-1'));
    clock += 29 * minute;
    assert.ok(await store.readSession('idle'));
    clock += 30 * minute + 1;
    assert.equal(await store.readSession('idle'), null);
    assert.equal((await db.selectFrom('sessions').selectAll().execute()).length, 0, 'the expired row is deleted on read');
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
    const before = await db.selectFrom('sessions').select('last_seen_at').executeTakeFirstOrThrow();
    clock += 30_000;
    await store.recordActivity('touchy');
    assert.equal((await db.selectFrom('sessions').select('last_seen_at').executeTakeFirstOrThrow()).last_seen_at, before.last_seen_at);
    clock += 31_000;
    await store.recordActivity('touchy');
    assert.equal((await db.selectFrom('sessions').select('last_seen_at').executeTakeFirstOrThrow()).last_seen_at, clock);
  });

  it('does not bring back a session revoked while a request was still using it', async () => {
    await store.writeSession('revoked', sessionFor('user-1'));
    const inFlight = await store.readSession('revoked');
    assert.ok(inFlight);
    assert.equal(await store.revokeAllForUser('user-1'), 1);
    // The in-flight request finishes and saves what it loaded.
    await store.writeSession('revoked', { ...inFlight, client: { ip: '10.0.0.1', userAgent: 'x' } });
    assert.equal(await store.readSession('revoked'), null);
  });

  it('does not bring back a session it inserted that was revoked before the same request saved it again', async () => {
    // Sign-in: the new session is saved at once, then express-session saves it again at the end.
    const fresh = sessionFor('user-1');
    await store.writeSession('fresh', fresh);
    assert.equal(await store.revokeAllForUser('user-1'), 1);
    fresh.client = { ip: '10.0.0.1', userAgent: 'x' };
    await store.writeSession('fresh', fresh);
    assert.equal(await store.readSession('fresh'), null);
    assert.deepEqual(Object.keys(fresh).sort(), ['client', 'cookie', 'userId'], 'what marks it stays out of express-session\'s change check');
  });

  it('keeps a session revoked between sign-in\'s save and the end of the request revoked, through express-session', async () => {
    // The real middleware: regenerate and save as startUserSession does, then every session of the
    // user ends (another device's "sign out everywhere") before the answer is sent.
    const app = express();
    app.use(session({ name: 'sid', secret: 'test-secret', store, resave: false, saveUninitialized: false, cookie: { secure: false } }));
    let sid = '';
    app.post('/sign-in', async (req, res) => {
      await regenerateSession(req);
      req.session.userId = 'user-1';
      await saveSession(req);
      sid = req.sessionID;
      assert.equal(await store.revokeAllForUser('user-1'), 1);
      res.send('signed in');
    });
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const answer = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/sign-in`, { method: 'POST' });
      assert.equal(answer.status, 200);
      // express-session's own save has run by the time the answer ends.
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.notEqual(sid, '');
      assert.equal(await store.readSession(sid), null, 'the revoked session was not written back');
      assert.equal((await db.selectFrom('sessions').select('id').execute()).length, 0);
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    }
  });

  it('on sign-in, deletes no session that never existed and writes the new one once, through express-session', async () => {
    await checkSignInWrites({
      store,
      advanceClock: (ms) => {
        clock += ms;
      },
      lastSeenAt: async (sid) => (await db.selectFrom('sessions').select('last_seen_at').where('id', '=', hashSessionId(sid)).executeTakeFirstOrThrow()).last_seen_at,
    });
  });

  it('lists a user\'s live sessions and revokes one by its hashed id, and only theirs', async () => {
    await store.writeSession('a', sessionFor('user-1'));
    clock += 1000;
    await store.writeSession('b', sessionFor('user-1'));
    await store.writeSession('c', sessionFor('user-2'));
    const listed = await store.listForUser('user-1');
    assert.deepEqual(
      listed.map((entry) => entry.id),
      [hashSessionId('b'), hashSessionId('a')],
    );
    assert.equal(listed[0]?.userAgent, 'test-agent');
    assert.equal(await store.revokeForUser('user-2', hashSessionId('a')), false, 'another user cannot revoke it');
    assert.equal(await store.revokeForUser('user-1', hashSessionId('a')), true);
    assert.equal(await store.readSession('a'), null);
    assert.equal(await store.revokeAllForUser('user-1', 'b'), 0, 'the current session is kept');
    assert.ok(await store.readSession('b'));
  });

  it('prunes expired rows', async () => {
    await store.writeSession('old', sessionFor());
    clock += 31 * minute;
    await store.writeSession('new', sessionFor());
    assert.equal(await store.pruneExpired(), 1);
    assert.ok(await store.readSession('new'));
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
  });
});
