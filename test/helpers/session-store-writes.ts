// test/helpers/session-store-writes.ts
// One scenario for both session stores (SQLite/PostgreSQL and Redis), through the real
// express-session: what a sign-in writes. A visitor without a session cookie signs in: nothing is
// deleted (there was nothing), the session is written once, not again by express-session's own
// save at the end; a change made after the explicit save is still written; and signing in again
// from that session deletes the old entry, as regeneration must.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import session from 'express-session';
import { regenerateSession, saveSession } from '../../src/web/session-state.js';

export interface StoreUnderTest extends session.Store {
  readSession(sid: string): Promise<session.SessionData | null>;
}

export interface SignInWritesOptions {
  readonly store: StoreUnderTest;
  /** The store's clock, moved forward by the scenario between the explicit save and the answer. */
  readonly advanceClock: (ms: number) => void;
  /** When the store last recorded activity for this session id (ms). */
  readonly lastSeenAt: (sid: string) => Promise<number>;
}

export async function checkSignInWrites({ store, advanceClock, lastSeenAt }: SignInWritesOptions): Promise<void> {
  const destroyed: string[] = [];
  const destroy = store.destroy.bind(store);
  store.destroy = (sid, callback) => {
    destroyed.push(sid);
    destroy(sid, callback);
  };
  const app = express();
  app.use(session({ name: 'sid', secret: 'test-secret', store, resave: false, saveUninitialized: false, cookie: { secure: false } }));
  const signedIn: { sid: string; savedAt: number }[] = [];
  app.post('/sign-in', async (req, res) => {
    await regenerateSession(req);
    req.session.userId = 'user-1';
    await saveSession(req);
    signedIn.push({ sid: req.sessionID, savedAt: await lastSeenAt(req.sessionID) });
    // Anything express-session's own save would write now is newer than the explicit save.
    advanceClock(5_000);
    if (req.query.flash === '1') req.session.flash = { kind: 'notice', message: 'changed after the save' };
    res.send('signed in');
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // express-session's own save runs after the answer has started: give it a moment.
  const settled = () => new Promise((resolve) => setTimeout(resolve, 50));
  try {
    const first = await fetch(`${base}/sign-in`, { method: 'POST' });
    assert.equal(first.status, 200);
    await settled();
    const [one] = signedIn;
    assert.ok(one !== undefined);
    assert.deepEqual(destroyed, [], 'a session that never reached the store is not deleted');
    assert.equal(await lastSeenAt(one.sid), one.savedAt, 'the unchanged session was not written a second time');
    assert.equal((await store.readSession(one.sid))?.userId, 'user-1');

    const cookie = (first.headers.get('set-cookie') ?? '').split(';', 1)[0] ?? '';
    const second = await fetch(`${base}/sign-in?flash=1`, { method: 'POST', headers: { cookie } });
    assert.equal(second.status, 200);
    await settled();
    const two = signedIn[1];
    assert.ok(two !== undefined);
    assert.deepEqual(destroyed, [one.sid], 'signing in again deletes the session it replaces');
    assert.equal(await store.readSession(one.sid), null);
    const stored = await store.readSession(two.sid);
    assert.deepEqual(stored?.flash, { kind: 'notice', message: 'changed after the save' }, 'a change after the explicit save is written');
    assert.ok((await lastSeenAt(two.sid)) > two.savedAt);
  } finally {
    store.destroy = destroy;
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  }
}
