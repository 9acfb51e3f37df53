// test/security/rate-limit.test.ts
// Threat: floods. One client sending requests as fast as it can (to guess, to fill inboxes, or just
// to take the service down) is refused with 429 once past its share, with standard RateLimit
// headers saying so; the authentication routes have a much smaller share, and sign-ups and reset
// requests are also limited per target address. The client address is the one the trusted proxy
// saw: a client that forges X-Forwarded-For from anywhere else stays limited.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/observability/logger.js';
import { emailLimitedPaths, isAuthPath } from '../../src/security/rate-limit.js';
import { connectRedis } from '../../src/storage/redis.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

interface ErrorBody {
  error: { code: string; message: string; requestId: string };
}

const json = { accept: 'application/json' };

function signInBody(email: string): { method: string; headers: Record<string, string>; body: string } {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', origin: 'https://localhost:8443' },
    body: JSON.stringify({ email, password: 'not the password at all 123' }),
  };
}

/** portcullis_rate_limited_requests_total{limiter="general"} from the server's own registry. */
async function rateLimitedCount(server: TestServer): Promise<number> {
  const text = await server.server.monitoring.metrics.registry.metrics();
  const line = text.split('\n').find((entry) => entry.startsWith('portcullis_rate_limited_requests_total{') && entry.includes('limiter="general"'));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('the general limit, per client address', () => {
  let server: TestServer;
  /** The first 429's headers: express-rate-limit's answer through the chain. */
  let libraryRefusalHeaders: Record<string, unknown> | undefined;
  before(async () => {
    server = await startTestServer({ PORTCULLIS_RATE_LIMIT_MAX: '10' });
  });
  after(async () => {
    await server.close();
  });

  it('announces the policy with draft-8 RateLimit headers, then answers 429 with Retry-After and the generic body', async () => {
    // Through Express and express-rate-limit: a guest's home page is answered before Express
    // (web/guest-lane.ts) unless the request may carry a session, as this one says it does.
    const viaLibrary = { ...json, cookie: `${server.config.session.cookieName}=not-a-session` };
    const first = await server.request('/', { headers: viaLibrary });
    assert.equal(first.status, 200);
    assert.match(String(first.headers.ratelimit), /^"general"; r=9; t=\d+$/);
    assert.match(String(first.headers['ratelimit-policy']), /^"general"; q=10; w=900; pk=:[A-Za-z0-9+/=]+:$/);
    assert.equal(first.headers['x-ratelimit-limit'], undefined, 'no legacy headers');
    for (let index = 0; index < 9; index += 1) assert.equal((await server.request('/', { headers: viaLibrary })).status, 200);
    const refused = await server.request('/', { headers: viaLibrary });
    assert.equal(refused.status, 429);
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter > 0 && retryAfter <= 900, `Retry-After: ${String(refused.headers['retry-after'])}`);
    assert.match(String(refused.headers.ratelimit), /^"general"; r=0; t=\d+$/);
    const body = refused.json() as ErrorBody;
    assert.equal(body.error.code, 'RATE_LIMITED');
    assert.equal(body.error.message, 'Too many requests. Wait a moment and try again.');
    assert.equal(body.error.requestId, refused.headers['x-request-id']);
    assert.equal(refused.headers['cache-control'], 'no-store');
    libraryRefusalHeaders = refused.headers;
  });

  it('answers later refusals from memory exactly as the limiter answered the first, and counts each', async () => {
    // The first 429 came from express-rate-limit and the shared store; from then on the address is
    // refused by the server's listener before Express (security/early-refusal.ts). A client must not tell
    // them apart: the same headers with the same values, apart from the request id, the date and
    // the seconds left.
    const metricsBefore = await rateLimitedCount(server);
    const answers = [];
    for (let index = 0; index < 3; index += 1) answers.push(await server.request('/', { headers: json }));
    const policies = new Set(answers.map((answer) => answer.headers['ratelimit-policy']));
    assert.equal(policies.size, 1, 'one policy header, with the same partition key');
    assert.match(String([...policies][0]), /^"general"; q=10; w=900; pk=:[A-Za-z0-9+/=]+:$/);
    for (const answer of answers) {
      assert.equal(answer.status, 429);
      assert.match(String(answer.headers.ratelimit), /^"general"; r=0; t=\d+$/);
      assert.equal(answer.headers['retry-after'], /t=(\d+)$/.exec(String(answer.headers.ratelimit))?.[1]);
      assert.equal((answer.json() as ErrorBody).error.code, 'RATE_LIMITED');
      assert.equal((answer.json() as ErrorBody).error.requestId, answer.headers['x-request-id']);
      assert.equal(answer.headers['content-security-policy'] !== undefined && answer.headers['strict-transport-security'] !== undefined, true, 'the security headers too');
    }
    assert.equal(await rateLimitedCount(server), metricsBefore + 3, 'each refusal is counted under the general limiter');
    assert.ok(libraryRefusalHeaders !== undefined, 'the first test kept the library\'s refusal');
    const varying = new Set(['x-request-id', 'date', 'ratelimit', 'retry-after']);
    const comparable = (headers: Record<string, unknown>) => Object.fromEntries(Object.entries(headers).filter(([name]) => !varying.has(name)));
    for (const answer of answers) assert.deepEqual(comparable(answer.headers), comparable(libraryRefusalHeaders));
  });

  it('answers a browser with the error page, in the same words', async () => {
    const page = await server.request('/sign-in', { headers: { accept: 'text/html' } });
    assert.equal(page.status, 429);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.body, /Too many requests\. Wait a moment and try again\./);
  });

  it('never counts or refuses static assets and health checks', async () => {
    for (const path of ['/assets/style.css', '/healthz', '/readyz']) {
      const answer = await server.request(path);
      assert.equal(answer.status, 200, path);
      assert.equal(answer.headers.ratelimit, undefined, `${path} is not rate limited`);
    }
  });
});

describe('the general limit in the shared store (database or Redis), counted in batches', () => {
  let server: TestServer;
  before(async () => {
    // 200 per window: batches of 20, so one instance admits at most 19 more than the limit.
    server = await startTestServer({ PORTCULLIS_RATE_LIMIT_MAX: '200' });
  });
  after(async () => {
    await server.close();
  });

  async function generalHits(): Promise<number> {
    const redisConfig = server.config.redis;
    if (redisConfig === undefined) {
      const rows = await server.server.db.selectFrom('rate_limit_counters').select(['key', 'hits']).where('key', 'like', 'rl:general:%').execute();
      return rows.reduce((sum, row) => sum + row.hits, 0);
    }
    // A connection of its own: the server's closes with it.
    const redis = connectRedis(redisConfig, createLogger({ level: 'silent', pretty: false }));
    try {
      assert.ok(await redis.waitUntilReady(5_000));
      const [, keys] = (await redis.command(['SCAN', '0', 'MATCH', `${redis.prefix}batched:rl:general:*`, 'COUNT', '1000'])) as [string, string[]];
      let sum = 0;
      for (const key of keys) sum += Number(await redis.command(['GET', key]));
      return sum;
    } finally {
      await redis.close();
    }
  }

  it('refuses a burst from one address before the window ends, with at most 19 over the limit', async () => {
    let admitted = 0;
    let refused = 0;
    // 300 requests, 10 at a time (as a client with a few connections would send them).
    for (let round = 0; round < 30; round += 1) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => server.request('/', { headers: json })));
      for (const answer of answers) {
        if (answer.status === 200) admitted += 1;
        else if (answer.status === 429) refused += 1;
        else assert.fail(`unexpected ${answer.status}`);
      }
    }
    assert.ok(admitted >= 200 - 20 && admitted <= 200 + 19, `admitted ${admitted}`);
    assert.equal(admitted + refused, 300);
    assert.equal((await server.request('/', { headers: json })).status, 429, 'still refused afterwards');
  });

  it('writes the hits still waiting in a batch when the server closes', async () => {
    await server.server.shared.close();
    // Every request reached the shared counter (refusals past the first are answered from memory
    // by the refusal cache and never counted, as before).
    assert.ok((await generalHits()) >= 201, `counted ${await generalHits()}`);
  });
});

describe('the authentication routes', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ PORTCULLIS_RATE_LIMIT_AUTH_MAX: '3', PORTCULLIS_RATE_LIMIT_EMAIL_MAX: '2', PORTCULLIS_TRUST_PROXY: '127.0.0.1' });
  });
  after(async () => {
    await server.close();
  });

  it('allow a few sign-in attempts per address, then 429 before any password is looked at', async () => {
    const from = { 'x-forwarded-for': '198.51.100.1' };
    for (let index = 0; index < 3; index += 1) {
      const attempt = await server.request('/api/v1/auth/sign-in', { ...signInBody(`nobody${index}@example.com`), headers: { ...signInBody('').headers, ...from } });
      assert.equal(attempt.status, 401);
      assert.match(String(attempt.headers.ratelimit), /"auth"; r=\d+; t=\d+/);
    }
    const refused = await server.request('/api/v1/auth/sign-in', { ...signInBody('nobody@example.com'), headers: { ...signInBody('').headers, ...from } });
    assert.equal(refused.status, 429);
    assert.equal((refused.json() as ErrorBody).error.code, 'RATE_LIMITED');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    const evaluated = server.logs().filter((line) => (line.audit as { type?: string; ip?: string } | undefined)?.type === 'sign_in' && (line.audit as { ip?: string }).ip === '198.51.100.1');
    assert.equal(evaluated.length, 3, 'the refused attempt never reached the account service');
  });

  it('count the pages and the API together, and leave reading the pages alone', async () => {
    const from = { 'x-forwarded-for': '198.51.100.2' };
    for (let index = 0; index < 3; index += 1) {
      const page = await server.request('/sign-in', { headers: { accept: 'text/html', ...from } });
      assert.equal(page.status, 200, 'GET is not an attempt');
    }
    await server.request('/api/v1/auth/sign-in', { ...signInBody('a@example.com'), headers: { ...signInBody('').headers, ...from } });
    await server.request('/api/v1/auth/password/forgot', { method: 'POST', headers: { ...signInBody('').headers, ...from }, body: JSON.stringify({ email: 'b@example.com' }) });
    await server.request('/api/v1/auth/sign-up', { method: 'POST', headers: { ...signInBody('').headers, ...from }, body: JSON.stringify({ email: 'c@example.com', password: 'violet kettle harbour 90 lamp' }) });
    const form = await server.request('/sign-in', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...from }, body: 'email=a%40example.com&password=x' });
    assert.equal(form.status, 429, 'the fourth state-changing request to any auth route is refused');
  });

  it('limit reset requests per target address, whichever address they come from', async () => {
    const forgot = (from: string, email: string) =>
      server.request('/api/v1/auth/password/forgot', { method: 'POST', headers: { ...signInBody('').headers, 'x-forwarded-for': from }, body: JSON.stringify({ email }) });
    assert.equal((await forgot('198.51.100.10', 'Target@Example.com')).status, 202);
    assert.equal((await forgot('198.51.100.11', 'target@example.com')).status, 202);
    const third = await forgot('198.51.100.12', ' TARGET@example.com ');
    assert.equal(third.status, 429, 'the same address however it is spelled');
    assert.match(String(third.headers.ratelimit), /"email"; r=0/);
    assert.equal((await forgot('198.51.100.12', 'someone-else@example.com')).status, 202);
  });

  it('believe the trusted proxy about the address: each client has its own share', async () => {
    for (let index = 0; index < 3; index += 1) {
      const answer = await server.request('/api/v1/auth/sign-in', { ...signInBody('x@example.com'), headers: { ...signInBody('').headers, 'x-forwarded-for': `192.0.2.${index + 1}` } });
      assert.equal(answer.status, 401);
    }
  });
});

describe('a client forging X-Forwarded-For from an untrusted address', () => {
  let server: TestServer;
  before(async () => {
    // Only 10.0.0.0/8 is a trusted proxy; the test client on 127.0.0.1 is not.
    server = await startTestServer({ PORTCULLIS_RATE_LIMIT_AUTH_MAX: '3', PORTCULLIS_TRUST_PROXY: '10.0.0.0/8' });
  });
  after(async () => {
    await server.close();
  });

  it('stays limited as 127.0.0.1 whatever address it claims', async () => {
    const statuses: number[] = [];
    for (let index = 0; index < 6; index += 1) {
      const answer = await server.request('/api/v1/auth/sign-in', { ...signInBody('x@example.com'), headers: { ...signInBody('').headers, 'x-forwarded-for': `203.0.113.${index + 1}` } });
      statuses.push(answer.status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 429, 429, 429]);
    const access = server.logs().filter((line) => line.msg === 'request' && line.path === '/api/v1/auth/sign-in');
    assert.ok(access.every((line) => line.ip === '127.0.0.1'));
  });
});

describe('misconfigurations', () => {
  it('are logged with express-rate-limit\'s stable code: X-Forwarded-For arriving while no proxy is trusted', async () => {
    const server = await startTestServer();
    try {
      // express-rate-limit looks at the first request each limiter sees.
      await server.request('/', { headers: { ...json, 'x-forwarded-for': '203.0.113.9' } });
      const line = server.logs().find((entry) => entry.code === 'ERR_ERL_UNEXPECTED_X_FORWARDED_FOR');
      assert.ok(line, 'the misconfiguration is reported');
      assert.equal(line.level, 'error');
      assert.equal(line.help, 'https://express-rate-limit.github.io/ERR_ERL_UNEXPECTED_X_FORWARDED_FOR/');
    } finally {
      await server.close();
    }
  });


  it('include a hop-count trust proxy, which a client reaching the port directly could fool, with a stable code', async () => {
    const server = await startTestServer({ PORTCULLIS_TRUST_PROXY: '1' });
    try {
      const line = server.logs().find((entry) => entry.code === 'PORTCULLIS_TRUST_PROXY_HOP_COUNT');
      assert.ok(line);
      assert.equal(line.level, 'warn');
    } finally {
      await server.close();
    }
  });
});

describe('which routes are authentication routes', () => {
  it('covers signing in and up, resets, verification, unlock and every second-factor route', () => {
    for (const path of ['/sign-in', '/sign-up', '/forgot-password', '/reset-password', '/verify-email', '/reauthenticate', '/unlock-account', '/second-factor/totp', '/account/mfa/totp/confirm', '/mfa/anything', '/api/v1/auth/sign-in', '/api/v1/auth/mfa/totp', '/api/v1/me/mfa/totp/confirm']) {
      assert.ok(isAuthPath(path), path);
    }
    for (const path of ['/', '/account', '/sign-in-help', '/api/v1/me', '/api/v1/me/sessions', '/admin/users']) assert.equal(isAuthPath(path), false, path);
    assert.deepEqual([...emailLimitedPaths].sort(), ['/api/v1/auth/password/forgot', '/api/v1/auth/sign-up', '/forgot-password', '/sign-up']);
  });
});
