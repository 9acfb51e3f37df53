// test/security/deferred-session.test.ts
// A request without a session cookie gets its session only when something first needs one
// (src/security/deferred-session.ts, issue 8). What must hold: nothing written to the stand-in is
// ever lost, cookies and saving are express-session's as before, a session needed too late fails
// loudly, and the cookie test can only err towards making a real session.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import express, { type Request, type Response } from 'express';
import session from 'express-session';
import { deferSession, mayHaveSessionCookie } from '../../src/security/deferred-session.js';
import { regenerateSession, saveSession } from '../../src/web/session-state.js';
import { request } from '../helpers/https-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

declare module 'express-session' {
  interface SessionData {
    note?: string;
  }
}

/** A plain-HTTP app with real express-session and its MemoryStore, every request deferred. */
async function startDeferredApp(route: (req: Request, res: Response) => void | Promise<void>) {
  const store = new session.MemoryStore();
  const start = session({ name: 'sid', secret: 'test-secret', store, resave: false, saveUninitialized: false, cookie: { httpOnly: true, sameSite: 'lax' } });
  const lateErrors: unknown[] = [];
  const app = express();
  app.use((req, res, next) => {
    if (mayHaveSessionCookie(req, 'sid')) {
      start(req, res, next);
      return;
    }
    deferSession(req, res, { start, onLateError: (error) => lateErrors.push(error) });
    next();
  });
  app.use(async (req, res, next) => {
    try {
      await route(req, res);
    } catch (error) {
      next(error);
    }
  });
  app.use((error: Error, _req: Request, res: Response, _next: express.NextFunction) => {
    if (!res.headersSent) res.status(500).type('text').send(`error: ${error.message}`);
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const count = () =>
    new Promise<number>((resolve, reject) => {
      store.length((error: unknown, length) => {
        if (error === undefined || error === null) resolve(length ?? 0);
        else reject(error instanceof Error ? error : new Error('session store failed'));
      });
    });
  return { url, count, lateErrors, close: () => new Promise<void>((resolve) => server.close(() => { resolve(); })) };
}

function cookieOf(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  return headers['set-cookie']?.find((line) => line.startsWith(`${name}=`))?.split(';')[0];
}

describe('deferred sessions', () => {
  it('reads nothing, makes nothing and sets no cookie when the session is only read', async () => {
    const app = await startDeferredApp((req, res) => {
      res.json({
        note: req.session.note ?? null,
        userId: req.session.userId ?? null,
        has: 'note' in req.session,
        keys: Object.keys(req.session),
      });
    });
    try {
      const answer = await request(app.url, '/');
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.json(), { note: null, userId: null, has: false, keys: [] });
      assert.equal(answer.headers['set-cookie'], undefined);
      assert.equal(await app.count(), 0);
    } finally {
      await app.close();
    }
  });

  it('makes the real session on the first write, keeps the value, saves it and sends the cookie', async () => {
    const app = await startDeferredApp((req, res) => {
      if (req.method === 'POST') {
        const held = req.session; // a reference taken before the session is real keeps working
        delete held.note; // nothing to delete: still no session
        held.note = 'kept';
        res.json({ id: req.sessionID, sameObject: held.note === req.session.note, note: req.session.note });
        return;
      }
      res.json({ note: req.session.note ?? null, id: req.sessionID });
    });
    try {
      const written = await request(app.url, '/', { method: 'POST' });
      assert.equal(written.status, 200);
      const body = written.json() as { id: string; sameObject: boolean; note: string };
      assert.equal(body.note, 'kept');
      assert.equal(body.sameObject, true);
      const cookie = cookieOf(written.headers, 'sid');
      assert.ok(cookie, 'the session cookie is sent');
      assert.equal(await app.count(), 1);

      const readBack = await request(app.url, '/', { headers: { cookie } });
      assert.deepEqual(readBack.json(), { note: 'kept', id: body.id });
    } finally {
      await app.close();
    }
  });

  it('makes the real session for its methods and its id (regenerate, save, sessionID)', async () => {
    const app = await startDeferredApp(async (req, res) => {
      const before = req.sessionID;
      await regenerateSession(req);
      req.session.note = 'after regenerate';
      await saveSession(req);
      res.json({ before, after: req.sessionID, idMatches: req.session.id === req.sessionID });
    });
    try {
      const answer = await request(app.url, '/');
      const body = answer.json() as { before: string; after: string; idMatches: boolean };
      assert.match(body.before, /.{20,}/);
      assert.notEqual(body.after, body.before, 'regenerate gave a new id');
      assert.equal(body.idMatches, true);
      assert.ok(cookieOf(answer.headers, 'sid'));
      assert.equal(await app.count(), 1);
    } finally {
      await app.close();
    }
  });

  it('fails loudly when a session is first needed after the answer has started, and stores nothing', async () => {
    let thrown: unknown;
    const app = await startDeferredApp((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      try {
        req.session.note = 'too late';
      } catch (error) {
        thrown = error;
      }
      res.end('done');
    });
    try {
      const answer = await request(app.url, '/');
      assert.equal(answer.status, 200);
      assert.ok(thrown instanceof Error);
      assert.match(thrown.message, /after the answer had started/);
      assert.equal(answer.headers['set-cookie'], undefined);
      assert.equal(await app.count(), 0);
    } finally {
      await app.close();
    }
  });

  it('treats any Cookie header that may hold the session cookie as holding it (errs towards a real session)', () => {
    const withCookie = (cookie: string | undefined) => ({ headers: cookie === undefined ? {} : { cookie } }) as unknown as Request;
    assert.equal(mayHaveSessionCookie(withCookie(undefined), '__Host-s'), false);
    assert.equal(mayHaveSessionCookie(withCookie('theme=dark'), '__Host-s'), false);
    assert.equal(mayHaveSessionCookie(withCookie('theme=dark; __Host-s=abc'), '__Host-s'), true);
    // Another cookie whose name ends with ours: express-session reads the header and finds none.
    assert.equal(mayHaveSessionCookie(withCookie('x__Host-s=abc'), '__Host-s'), true);
    // The name without its value separator is not a cookie of that name.
    assert.equal(mayHaveSessionCookie(withCookie('__Host-sx=1'), '__Host-s'), false);
  });
});

describe('deferred sessions in the server', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  it('serves the home page to a visitor without a cookie with no session stored and no cookie set', async () => {
    const before = await server.sessions.count();
    for (let i = 0; i < 5; i += 1) {
      const answer = await server.request('/');
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['set-cookie'], undefined);
      assert.match(answer.body, /Create an account/);
    }
    assert.equal(await server.sessions.count(), before);
  });

  it('still gives a form page its session and token, and the form then works', async () => {
    const page = await server.request('/sign-in');
    assert.equal(page.status, 200);
    const cookie = page.headers['set-cookie']?.find((line) => line.startsWith(`${server.config.session.cookieName}=`))?.split(';')[0];
    assert.ok(cookie, 'the sign-in page sets the session cookie');
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    assert.ok(token, 'the form carries its token');
    // A wrong password with the right token is a 401 page, not a CSRF refusal: the token was kept.
    const body = new URLSearchParams({ _csrf: token, email: 'nobody@example.com', password: 'not the password at all' }).toString();
    const posted = await server.request('/sign-in', { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: server.config.publicOrigin }, body });
    assert.notEqual(posted.status, 403, posted.body.slice(0, 200));
    // Without the cookie the same token is refused: it belongs to that session only.
    const forged = await server.request('/sign-in', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.config.publicOrigin }, body });
    assert.equal(forged.status, 403);
    assert.equal(forged.headers['set-cookie'], undefined);
  });
});
