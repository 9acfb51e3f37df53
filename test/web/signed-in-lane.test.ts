// test/web/signed-in-lane.test.ts
// The signed-in home page and GET /api/v1/me are answered by the server's listener before Express
// (src/web/signed-in-lane.ts). What must hold, on the real server over HTTPS with its real stores
// (SQLite; PostgreSQL and Redis in CI's second pass):
//   - the lane's answer is the chain's answer, byte for byte but for the request id and the date;
//   - every rule the chain applies still applies, tried from the attacker's side: a forged, altered
//     or foreign cookie, a stolen cookie after sign-out, a revoked or expired session and a disabled
//     account get exactly what the chain gives them, at once;
//   - what the lane cannot answer the same way (a message waiting, a form token still to be made,
//     an unverified account's home page, an account that must enrol a second factor) reaches
//     Express, which answers it as before;
//   - each answer is counted once against the general limit, refused with the chain's 429 over it,
//     logged, timed, and records the session's activity as express-session does.
// Which side answered is seen by wrapping the application's own handler (app.handle), which is
// what the lane hands requests to.

import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import express from 'express';
import session from 'express-session';
import proxyAddr from 'proxy-addr';
import type { PublicUser } from '../../src/accounts/types.js';
import { refusingBefore } from '../../src/security/early-refusal.js';
import { securityHeaderList } from '../../src/security/headers.js';
import type { GeneralCount } from '../../src/security/rate-limit.js';
import { createSignedInLane } from '../../src/web/signed-in-lane.js';
import type { TestResponse } from '../helpers/https-client.js';
import { internalsPattern, type TestServer } from '../helpers/test-server.js';
import { errorOf, type WebClient } from './support/client.js';
import { findUser } from './support/database.js';
import { pageText, passwords, signedInUser, signUpAndVerify, startAccountsHarness, type AccountsHarness } from './support/harness.js';

interface UserBody {
  user: { id: string; email: string; emailVerified: boolean };
}

/** Records the request targets that reach Express (the lane hands requests to app.handle). */
function watchExpress(server: TestServer): string[] {
  const reached: string[] = [];
  const app = server.server.app as unknown as { handle: (req: { method?: string; url?: string }, ...rest: unknown[]) => unknown };
  const handle = app.handle.bind(app);
  app.handle = (req, ...rest) => {
    reached.push(`${req.method ?? ''} ${req.url ?? ''}`);
    return handle(req, ...rest);
  };
  return reached;
}

/** The headers that differ between any two answers: the request id, the date, the limit's count. */
const varying = new Set(['x-request-id', 'date', 'ratelimit']);
function stableHeaders(response: TestResponse): Record<string, unknown> {
  return Object.fromEntries(Object.entries(response.headers).filter(([name]) => !varying.has(name)));
}

function assertSameAnswer(lane: TestResponse, chain: TestResponse, what: string): void {
  assert.equal(lane.status, chain.status, `${what}: status`);
  assert.equal(lane.body, chain.body, `${what}: body`);
  assert.deepEqual(stableHeaders(lane), stableHeaders(chain), `${what}: headers`);
}

/** A browser that has also opened its account page once, so its session holds its form token. */
async function browsingUser(harness: AccountsHarness, email: string): Promise<WebClient> {
  const client = await signedInUser(harness, email);
  assert.equal((await client.get('/account')).status, 200);
  return client;
}

describe('the signed-in lane in front of a stand-in application', () => {
  // What the lane meets when its stores fail, tried with express-session's own MemoryStore and a
  // stand-in for everything else; the whole server's behaviour is tested below.
  const cookieName = 'pc.sid';
  const secret = randomBytes(32).toString('base64');
  const sid = randomBytes(32).toString('base64url');
  const cookie = `${cookieName}=${encodeURIComponent(`s:${sid}.${createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '')}`)}`;
  const user: PublicUser = { id: 'u1', email: 'someone@example.com', displayName: 'Some <One>', role: 'user', emailVerified: true, disabled: false, createdAt: 0, passwordChangedAt: 0 };
  const admitted: GeneralCount = { refused: false, headers: [['RateLimit', '"general"; r=7; t=880']] };
  const recorded = { reachedChain: [] as string[], reported: [] as string[], touchFailures: [] as string[], counted: [] as string[] };
  /** A session as the store keeps it (express-session's cookie object, as JSON). */
  const stored = (data: Record<string, unknown>) => JSON.parse(JSON.stringify({ cookie: { originalMaxAge: null, path: '/' }, ...data })) as session.SessionData;
  let store: session.MemoryStore;
  const delegating = new (class extends session.Store {
    override get(id: string, callback: (error: unknown, data?: session.SessionData | null) => void): void {
      store.get(id, callback);
    }
    override set(id: string, data: session.SessionData, callback?: (error?: unknown) => void): void {
      store.set(id, data, callback);
    }
    override destroy(id: string, callback?: (error?: unknown) => void): void {
      store.destroy(id, callback);
    }
    override touch(id: string, data: session.SessionData, callback?: () => void): void {
      store.touch(id, data, callback);
    }
  })();
  let backendReady: boolean;
  let getUser: (id: string) => Promise<PublicUser | undefined>;
  let count: () => Promise<GeneralCount>;
  let baseUrl: string;
  let server: http.Server;

  before(async () => {
    const app = express();
    app.use((req, res) => {
      recorded.reachedChain.push(`${req.method} ${req.originalUrl}`);
      res.status(200).send('the chain');
    });
    const lane = createSignedInLane({
      siteName: 'Portcullis',
      cookieName,
      cookieSecret: secret,
      // The lane keeps the store it is given: this one passes each call to the current test's.
      store: delegating,
      backend: { isReady: () => backendReady },
      getUser: (id) => getUser(id),
      secondFactorRequiredFor: () => false,
      requireVerifiedEmail: true,
      countGeneral: (address) => {
        recorded.counted.push(address);
        return count();
      },
      application: app,
      onError: (error) => recorded.reported.push(error instanceof Error ? error.message : String(error)),
      onTouchFailed: (error) => recorded.touchFailures.push(error instanceof Error ? error.message : String(error)),
      securityHeaders: securityHeaderList({ hstsMaxAgeSeconds: 31_536_000, hstsPreload: false }),
      renderErrorPage: (error, requestId) => `<p>${error.publicMessage} ${requestId}</p>`,
      accessLog: () => undefined,
      trustProxy: proxyAddr.compile('loopback'),
    });
    server = http.createServer(refusingBefore(app, lane, (error) => recorded.reported.push(String(error))));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  });
  beforeEach(async () => {
    for (const list of Object.values(recorded)) list.length = 0;
    store = new session.MemoryStore();
    await new Promise<void>((resolve) => {
      store.set(sid, stored({ userId: 'u1', csrfToken: 'token-of-the-session' }), () => {
        resolve();
      });
    });
    backendReady = true;
    getUser = () => Promise.resolve(user);
    count = () => Promise.resolve(admitted);
  });

  // Plain HTTP with X-Forwarded-Proto from the trusted loopback proxy, as behind a proxy.
  const send = (path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      const outgoing = http.request(`${baseUrl}${path}`, { headers: { 'x-forwarded-proto': 'https', cookie, ...headers } }, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => {
          resolve({ status: incoming.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: incoming.headers });
        });
      });
      outgoing.on('error', reject);
      outgoing.end();
    });

  it('answers from the session and the account, escaping what the account holds', async () => {
    const page = await send('/');
    assert.equal(page.status, 200);
    assert.match(page.body, /Signed in as Some &lt;One>\./);
    assert.doesNotMatch(page.body, /<One>/);
    assert.match(page.body, /value="token-of-the-session"/);
    const me = await send('/api/v1/me');
    assert.deepEqual(JSON.parse(me.body), { user: { id: 'u1', email: 'someone@example.com', displayName: 'Some <One>', role: 'user', emailVerified: true, createdAt: new Date(0).toISOString(), passwordChangedAt: new Date(0).toISOString() } });
    assert.equal(me.headers['content-type'], 'application/json; charset=utf-8');
    assert.deepEqual(recorded.reachedChain, []);
    assert.deepEqual(recorded.counted, ['127.0.0.1', '127.0.0.1']);
  });

  it('hands the request on, uncounted, when the session store, the database or the rate-limit store fails', async () => {
    store.get = (_sid, callback) => {
      callback(new Error('session store away'));
    };
    assert.equal((await send('/api/v1/me')).body, 'the chain');
    store = new session.MemoryStore();
    store.set(sid, stored({ userId: 'u1' }));
    getUser = () => Promise.reject(new Error('database away'));
    assert.equal((await send('/api/v1/me')).body, 'the chain');
    getUser = () => Promise.resolve(user);
    count = () => Promise.reject(new Error('rate-limit store away'));
    assert.equal((await send('/api/v1/me')).body, 'the chain');
    backendReady = false;
    count = () => Promise.resolve(admitted);
    assert.equal((await send('/api/v1/me')).body, 'the chain', 'the shared session store is away: the chain answers 503');
    assert.deepEqual(recorded.reachedChain, ['GET /api/v1/me', 'GET /api/v1/me', 'GET /api/v1/me', 'GET /api/v1/me']);
    // Counted only where the lane was about to answer (the chain counts the rest itself).
    assert.deepEqual(recorded.counted, ['127.0.0.1']);
    // The chain meets each failure and reports it; the lane adds nothing.
    assert.deepEqual(recorded.reported, []);
  });

  it('hands on a session without a user, a disabled or missing account, and an unverified one\'s home page', async () => {
    store.set(sid, stored({ csrfToken: 'guest-token' }));
    assert.equal((await send('/')).body, 'the chain', 'a guest with a form token');
    store.set(sid, stored({ userId: 'u1', csrfToken: 't' }));
    getUser = () => Promise.resolve({ ...user, disabled: true });
    assert.equal((await send('/api/v1/me')).body, 'the chain', 'disabled');
    getUser = () => Promise.resolve(undefined);
    assert.equal((await send('/api/v1/me')).body, 'the chain', 'deleted');
    getUser = () => Promise.resolve({ ...user, emailVerified: false });
    assert.equal((await send('/')).body, 'the chain', 'unverified: the chain redirects to verification');
    assert.equal((await send('/api/v1/me')).status, 200, 'unverified accounts may read /api/v1/me');
    assert.deepEqual(recorded.counted, ['127.0.0.1']);
  });

  it('gives the answer and logs a failure to record activity, as express-session does', async () => {
    // express-session passes touch a callback that takes an error; its types say it takes none.
    store.touch = (_sid: string, _data: unknown, callback?: (error?: unknown) => void) => {
      callback?.(new Error('touch failed'));
    };
    const me = await send('/api/v1/me');
    assert.equal(me.status, 200);
    assert.deepEqual(recorded.touchFailures, ['touch failed']);
  });

  it('reports a failure to write its answer and lets Express answer, without taking the server down', async () => {
    count = () => Promise.resolve({ refused: false, headers: [['RateLimit', 'broken\nvalue']] });
    assert.equal((await send('/api/v1/me')).body, 'the chain');
    assert.equal(recorded.reported.length, 1);
    assert.match(String(recorded.reported[0]), /invalid character/i);
    count = () => Promise.resolve(admitted);
    assert.equal((await send('/api/v1/me')).status, 200, 'the server still answers');
  });
});

describe('the signed-in lane in the whole server', () => {
  let harness: AccountsHarness;
  let reachedExpress: string[];
  before(async () => {
    harness = await startAccountsHarness();
    reachedExpress = watchExpress(harness.server);
  });
  after(async () => {
    await harness.close();
  });
  beforeEach(() => {
    reachedExpress.length = 0;
  });

  it('answers the signed-in home page and /api/v1/me exactly as the chain does, without Express', async () => {
    const client = await browsingUser(harness, 'lane-same@example.com');
    reachedExpress.length = 0;
    const lanePage = await client.get('/');
    const laneMe = await client.api('GET', '/me');
    const laneHead = await client.request('/', { method: 'HEAD', headers: { accept: 'text/html' } });
    assert.deepEqual(reachedExpress, [], 'Express saw none of them');
    // The same requests with an empty query string: the lane leaves those to the chain.
    const chainPage = await client.get('/?');
    const chainMe = await client.api('GET', '/me?');
    assert.deepEqual(reachedExpress, ['GET /?', 'GET /api/v1/me?']);

    assert.equal(lanePage.status, 200);
    assert.match(pageText(lanePage.body), /Signed in as lane-same@example\.com/);
    assert.match(lanePage.body, /name="_csrf" value="[A-Za-z0-9_-]{43}"/, 'the sign-out form carries the session\'s token');
    assertSameAnswer(lanePage, chainPage, 'home page');
    assert.equal(laneMe.status, 200);
    assert.equal((laneMe.json() as UserBody).user.email, 'lane-same@example.com');
    assertSameAnswer(laneMe, chainMe, '/api/v1/me');
    assert.equal(laneHead.status, 200);
    assert.equal(laneHead.body, '');
    assert.deepEqual(stableHeaders(laneHead), stableHeaders(lanePage), 'HEAD: the page\'s headers');
    for (const answer of [lanePage, laneMe, laneHead]) {
      assert.equal(answer.headers['set-cookie'], undefined, 'an unchanged session sets no cookie');
      assert.equal(answer.headers['cache-control'], 'no-store');
      assert.match(String(answer.headers['content-security-policy']), /default-src/);
      assert.match(String(answer.headers['strict-transport-security']), /max-age=/);
      assert.match(String(answer.headers['x-request-id']), /^[0-9a-f-]{36}$/);
      assert.match(String(answer.headers.ratelimit), /^"general"; r=\d+; t=\d+$/);
    }
  });

  it('gives a forged, altered, unsigned or foreign session cookie what the chain gives a visitor with none', async () => {
    const client = await browsingUser(harness, 'lane-forged@example.com');
    const genuine = decodeURIComponent(client.sessionCookie ?? '');
    const id = genuine.slice(2, genuine.lastIndexOf('.'));
    const signature = genuine.slice(genuine.lastIndexOf('.') + 1);
    const foreignKey = randomBytes(32).toString('base64');
    const signedWith = (value: string, key: string) => `s:${value}.${createHmac('sha256', key).update(value).digest('base64').replace(/=+$/, '')}`;
    const flipped = (text: string) => `${text.slice(0, -1)}${text.endsWith('A') ? 'B' : 'A'}`;
    const forgeries = [
      `s:${id}.${flipped(signature)}`,
      `s:${flipped(id)}.${signature}`,
      `s:${id}`,
      id,
      signedWith(id, foreignKey),
      `s:${id}.${signature}.${signature}`,
      `s:${id}.`,
    ];
    const thief = harness.client();
    for (const forged of forgeries) {
      thief.sessionCookie = encodeURIComponent(forged);
      reachedExpress.length = 0;
      const page = await thief.get('/');
      assert.equal(page.status, 200, forged);
      assert.doesNotMatch(page.body, /Signed in as/, `${forged}: not signed in`);
      thief.sessionCookie = encodeURIComponent(forged);
      const me = await thief.api('GET', '/me');
      assert.equal(me.status, 401, forged);
      assert.equal(errorOf(me).code, 'UNAUTHENTICATED');
      // The generic refusal, nothing about why the cookie failed or what read it.
      assert.doesNotMatch(me.body, internalsPattern);
      assert.doesNotMatch(me.body, /signature|cookie|session/i);
      assert.deepEqual(reachedExpress, ['GET /', 'GET /api/v1/me'], `${forged}: the chain answered`);
    }
    // The genuine cookie still works, from the lane.
    reachedExpress.length = 0;
    assert.equal((await client.api('GET', '/me')).status, 200);
    assert.deepEqual(reachedExpress, []);
  });

  it('refuses a stolen cookie at once after sign-out, after the session is revoked, after it expires, and for a disabled account', async () => {
    const server = harness.server;
    const stolenAfter = async (victim: WebClient, end: () => Promise<void>): Promise<void> => {
      const stolen = victim.sessionCookie;
      const hashed = victim.hashedSessionId ?? '';
      const thief = harness.client();
      thief.sessionCookie = stolen;
      assert.equal((await thief.api('GET', '/me')).status, 200, 'the stolen cookie works while the session lives');
      await end();
      reachedExpress.length = 0;
      const me = await thief.api('GET', '/me');
      assert.equal(me.status, 401);
      assert.equal(errorOf(me).code, 'UNAUTHENTICATED');
      thief.sessionCookie = stolen;
      const page = await thief.get('/');
      assert.equal(page.status, 200);
      assert.doesNotMatch(page.body, /Signed in as/);
      assert.deepEqual(reachedExpress, ['GET /api/v1/me', 'GET /'], 'the chain answered both');
      assert.equal(await server.sessions.exists(hashed), false, 'and the session is gone');
    };

    const signedOut = await browsingUser(harness, 'lane-signout@example.com');
    await stolenAfter(signedOut, async () => {
      assert.equal((await signedOut.submit('/sign-out', {})).status, 303);
    });

    const revoked = await browsingUser(harness, 'lane-revoked@example.com');
    const other = harness.client();
    await other.signIn('lane-revoked@example.com', passwords.first);
    await stolenAfter(revoked, async () => {
      const ended = await other.api('DELETE', `/me/sessions/${revoked.hashedSessionId ?? ''}`);
      assert.equal(ended.status, 204, ended.body);
    });

    const idle = await browsingUser(harness, 'lane-idle@example.com');
    await stolenAfter(idle, () => server.sessions.expireIdle(idle.hashedSessionId ?? ''));

    const disabled = await browsingUser(harness, 'lane-disabled@example.com');
    await stolenAfter(disabled, async () => {
      const user = await findUser(server, 'lane-disabled@example.com');
      await server.server.db.updateTable('users').set({ disabled_at: Date.now() }).where('id', '=', user?.id ?? '').execute();
    });
  });

  it('leaves to Express what it cannot answer the same way, and takes the next request once it can', async () => {
    // Signed in through the API: the session has no form token yet (and a message from the
    // verification is waiting). The chain makes the token, stores it and shows the message on the
    // first page; from then on the lane answers.
    const apiClient = harness.client();
    await signUpAndVerify(harness, 'lane-token@example.com', passwords.first, apiClient);
    await apiClient.apiSignIn('lane-token@example.com', passwords.first);
    reachedExpress.length = 0;
    const first = await apiClient.get('/');
    assert.equal(first.status, 200);
    assert.match(pageText(first.body), /Signed in as/);
    const second = await apiClient.get('/');
    assert.deepEqual(reachedExpress, ['GET /'], 'only the first went to Express');
    const tokenOf = (page: TestResponse) => /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    assert.ok(tokenOf(first));
    assert.equal(tokenOf(second), tokenOf(first), 'the token the chain made is the one the lane shows');
    assert.match(pageText(second.body), /Signed in as lane-token@example\.com/);

    // A message waiting: the chain shows it once and removes it; the next page is the lane's.
    const hashed = apiClient.hashedSessionId ?? '';
    const data = await harness.server.sessions.read(hashed);
    await harness.server.sessions.write(hashed, { ...data, flash: { kind: 'notice', message: 'A message for the next page.' } });
    reachedExpress.length = 0;
    assert.match(pageText((await apiClient.get('/')).body), /A message for the next page\./);
    assert.doesNotMatch(pageText((await apiClient.get('/')).body), /A message for the next page/);
    assert.deepEqual(reachedExpress, ['GET /']);

    // Anything but the exact path, or a request the chain must judge, goes to Express.
    reachedExpress.length = 0;
    const conditional = await apiClient.get('/', { headers: { 'if-none-match': '*' } });
    const conditionalMe = await apiClient.api('GET', '/me', undefined, { headers: { 'if-modified-since': new Date().toUTCString() } });
    await apiClient.get('/?from=somewhere');
    await apiClient.api('GET', '/me/');
    await apiClient.request('/api/v1/me', { method: 'OPTIONS' });
    assert.deepEqual(reachedExpress, ['GET /', 'GET /api/v1/me', 'GET /?from=somewhere', 'GET /api/v1/me/', 'OPTIONS /api/v1/me']);
    assert.ok([200, 304].includes(conditional.status), String(conditional.status));
    assert.ok([200, 304].includes(conditionalMe.status), String(conditionalMe.status));
  });

  it('sends an unverified account\'s home page to the chain (verification first), and answers its /api/v1/me', async () => {
    const client = harness.client();
    const signUp = await client.api('POST', '/auth/sign-up', { email: 'lane-unverified@example.com', password: passwords.first });
    assert.equal(signUp.status, 202);
    // An account may sign in before confirming its address; it then reaches only verification.
    await client.apiSignIn('lane-unverified@example.com', passwords.first);
    reachedExpress.length = 0;
    const home = await client.get('/');
    assert.equal(home.status, 303);
    assert.equal(home.headers.location, '/verify-email');
    const me = await client.api('GET', '/me');
    assert.equal(me.status, 200);
    assert.equal((me.json() as UserBody).user.emailVerified, false);
    assert.deepEqual(reachedExpress, ['GET /'], '/api/v1/me came from the lane');
  });

  it('records the session\'s activity as express-session does: nothing within the touch interval, the time once it is older', async () => {
    const client = await browsingUser(harness, 'lane-activity@example.com');
    const hashed = client.hashedSessionId ?? '';
    const sessions = harness.server.sessions;
    const recent = await sessions.seenAt(hashed);
    assert.equal((await client.api('GET', '/me')).status, 200);
    assert.equal(await sessions.seenAt(hashed), recent, 'within the interval nothing is written');
    const longAgo = Date.now() - 5 * 60_000;
    await sessions.setSeenAt(hashed, longAgo);
    const before = Date.now();
    reachedExpress.length = 0;
    assert.equal((await client.api('GET', '/me')).status, 200);
    assert.deepEqual(reachedExpress, []);
    const seen = await sessions.seenAt(hashed);
    assert.ok(seen >= before, `activity recorded now (${seen} ≥ ${before})`);
  });

  it('logs each answer with its request id and times it under its route', async () => {
    const client = await browsingUser(harness, 'lane-logged@example.com');
    const from = harness.server.logs().length;
    const me = await client.api('GET', '/me');
    const line = harness.server.logs().slice(from).find((entry) => entry.msg === 'request' && entry.requestId === me.headers['x-request-id']);
    assert.ok(line, 'an access line with the answer\'s request id');
    assert.equal(line.status, 200);
    assert.equal(line.path, '/api/v1/me');
    const metrics = await harness.server.server.monitoring.metrics.registry.metrics();
    assert.match(metrics, /http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/me",status_class="2xx"\} [1-9]/);
  });
});

describe('the signed-in lane and the general limit', () => {
  let harness: AccountsHarness;
  let reachedExpress: string[];
  before(async () => {
    harness = await startAccountsHarness({ PORTCULLIS_RATE_LIMIT_MAX: '40' });
    reachedExpress = watchExpress(harness.server);
  });
  after(async () => {
    await harness.close();
  });

  it('counts each answer once in the limit the chain counts in, and refuses over it with the chain\'s 429', async () => {
    const client = await browsingUser(harness, 'lane-limit@example.com');
    reachedExpress.length = 0;
    const lane = await client.api('GET', '/me');
    const chain = await client.api('GET', '/me?');
    const remaining = (answer: TestResponse) => Number(/r=(\d+)/.exec(String(answer.headers.ratelimit))?.[1]);
    assert.equal(remaining(chain), remaining(lane) - 1, 'one count each, in one shared counter');
    const statuses: number[] = [];
    let refusal: TestResponse | undefined;
    for (let index = 0; index < remaining(chain) + 2; index += 1) {
      const answer = await client.api('GET', '/me');
      statuses.push(answer.status);
      refusal ??= answer.status === 429 ? answer : undefined;
    }
    assert.deepEqual(statuses.slice(-3), [200, 429, 429]);
    assert.ok(refusal);
    assert.equal(errorOf(refusal).code, 'RATE_LIMITED');
    assert.match(String(refusal.headers['retry-after']), /^\d+$/);
    assert.equal(refusal.headers['cache-control'], 'no-store');
    assert.deepEqual(reachedExpress, ['GET /api/v1/me?'], 'answers and refusals alike came before Express');
  });
});

describe('the signed-in lane when every account must use a second factor', () => {
  let harness: AccountsHarness;
  let reachedExpress: string[];
  before(async () => {
    harness = await startAccountsHarness({ PORTCULLIS_MFA_REQUIRED: 'all' });
    reachedExpress = watchExpress(harness.server);
  });
  after(async () => {
    await harness.close();
  });

  it('leaves an account without one to the chain\'s enrolment gate', async () => {
    const client = await signedInUser(harness, 'lane-enrol@example.com');
    reachedExpress.length = 0;
    const home = await client.get('/');
    assert.equal(home.status, 303);
    assert.equal(home.headers.location, '/account/mfa');
    const me = await client.api('GET', '/me');
    assert.equal(me.status, 403);
    assert.equal(errorOf(me).code, 'MFA_ENROLMENT_REQUIRED');
    assert.deepEqual(reachedExpress, ['GET /', 'GET /api/v1/me']);
  });
});
