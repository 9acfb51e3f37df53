// test/faults/redis-down.test.ts
// Fault: Redis (sessions, rate-limit counters, sign-in throttling) goes away, and comes back.
// Nothing that needs it may go ahead without it: signing in, signing up, resetting a password and
// every page that needs a session fail closed at once with the generic 503, rather than skip the
// throttle or hang. Public pages, static assets and health checks keep working. When Redis
// returns, everything recovers without a restart; Redis's append-only file keeps the sessions.
// This stops and restarts a throwaway redis-server, never the shared one.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startRedisServer, type ServiceProcess } from '../helpers/services.js';
import { passwords, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';
import { errorOf, type WebClient } from '../web/support/client.js';

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`${what} within ${timeoutMs} ms`);
}

describe('with Redis down', () => {
  let redis: ServiceProcess;
  let harness: AccountsHarness;
  let signedIn: WebClient;
  before(async () => {
    redis = await startRedisServer();
    harness = await startAccountsHarness({ PORTCULLIS_REDIS_URL: redis.url, PORTCULLIS_REDIS_PREFIX: 'fault:' });
    await harness.server.server.accounts.createUser({ email: 'steady@example.com', password: passwords.first, role: 'user', emailVerified: true });
    signedIn = harness.client();
    await signedIn.signIn('steady@example.com', passwords.first);
    assert.equal((await signedIn.get('/account')).status, 200);
    await redis.stop();
    await until('the server noticing', () => Promise.resolve(harness.server.server.shared.redis?.isReady() === false));
  });
  after(async () => {
    await harness.close();
    await redis.destroy();
  });

  it('refuses sign-in and the other account routes at once with the generic 503', async () => {
    const client = harness.client();
    const started = Date.now();
    const api = await client.api('POST', '/auth/sign-in', { email: 'steady@example.com', password: passwords.first });
    assert.equal(api.status, 503);
    assert.deepEqual({ ...errorOf(api), requestId: '' }, { code: 'SERVICE_UNAVAILABLE', message: 'The service is temporarily unavailable. Try again shortly.', requestId: '' });
    assert.ok(Date.now() - started < 2_000, 'no waiting for Redis');
    for (const [method, path] of [
      ['POST', '/auth/sign-up'],
      ['POST', '/auth/password/forgot'],
      ['GET', '/me'],
    ] as const) {
      const answer = await client.api(method, path, method === 'POST' ? { email: 'someone@example.com', password: passwords.second } : undefined);
      assert.equal(answer.status, 503, `${method} ${path}`);
      assert.equal(errorOf(answer).code, 'SERVICE_UNAVAILABLE');
    }
    const page = await client.get('/sign-in');
    assert.equal(page.status, 503);
    assert.match(page.body, /The service is temporarily unavailable/);
    assert.equal((await signedIn.get('/account')).status, 503, 'a signed-in page too: the session cannot be read');
  });

  it('keeps public pages, static assets and health checks working', async () => {
    for (const client of [harness.client(), signedIn]) {
      const home = await client.get('/');
      assert.equal(home.status, 200);
      assert.equal(home.headers['set-cookie'], undefined, 'the session cookie is neither replaced nor cleared');
    }
    assert.equal((await harness.server.request('/assets/style.css')).status, 200);
    assert.equal((await harness.server.request('/healthz')).status, 200);
    assert.equal((await harness.server.request('/readyz')).status, 200, 'the database is fine: the instance stays in the pool');
  });

  it('says so in the log with a stable code, and keeps running', () => {
    const lines = harness.server.logs();
    assert.ok(lines.some((line) => line.code === 'REDIS_UNAVAILABLE' && line.level === 'warn'));
    assert.ok(lines.some((line) => line.code === 'SERVICE_UNAVAILABLE'));
    assert.equal(lines.filter((line) => line.level === 'fatal').length, 0);
  });

  it('recovers without a restart when Redis returns, sessions included', async () => {
    await redis.start();
    await until('Redis to be back', () => Promise.resolve(harness.server.server.shared.redis?.isReady() === true));
    assert.equal((await signedIn.get('/account')).status, 200, 'the session written before the outage is still there');
    const client = harness.client();
    assert.equal((await client.api('POST', '/auth/sign-in', { email: 'steady@example.com', password: passwords.first })).status, 200);
    assert.ok(harness.server.logs().some((line) => line.code === 'REDIS_RECOVERED'));
  });
});

describe('with Redis down when the server starts', () => {
  it('serves public pages, refuses sign-in with 503, and recovers once Redis comes up', async () => {
    const redis = await startRedisServer();
    await redis.stop();
    const harness = await startAccountsHarness({ PORTCULLIS_REDIS_URL: redis.url, PORTCULLIS_REDIS_PREFIX: 'late:' });
    try {
      assert.ok(harness.server.logs().some((line) => line.code === 'REDIS_UNAVAILABLE' && line.level === 'error'), 'the start says Redis is missing');
      await harness.server.server.accounts.createUser({ email: 'late@example.com', password: passwords.first, role: 'user', emailVerified: true });
      assert.equal((await harness.client().get('/')).status, 200);
      assert.equal((await harness.client().api('POST', '/auth/sign-in', { email: 'late@example.com', password: passwords.first })).status, 503);
      await redis.start();
      await until('Redis to be reached', () => Promise.resolve(harness.server.server.shared.redis?.isReady() === true), 20_000);
      // The rate limiter's scripts were never loaded while Redis was away; they must load now.
      const answer = await harness.client().api('POST', '/auth/sign-in', { email: 'late@example.com', password: passwords.first });
      assert.equal(answer.status, 200);
      assert.match(String(answer.headers.ratelimit), /"auth"; r=\d+/);
    } finally {
      await harness.close();
      await redis.destroy();
    }
  });
});
