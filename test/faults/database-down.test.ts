// test/faults/database-down.test.ts
// Fault: PostgreSQL goes away (a failover, a restart), and comes back. /readyz says so at once, so
// a load balancer takes the instance out; requests that need the database get the generic 503
// (never a 500 or a stack trace); the process keeps running; and when the database returns,
// everything recovers without a restart. This stops and restarts a throwaway PostgreSQL cluster.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { internalsPattern } from '../helpers/test-server.js';
import { startPostgresServer, type ServiceProcess } from '../helpers/services.js';
import { passwords, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';
import { errorOf, type WebClient } from '../web/support/client.js';

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error(`${what} within ${timeoutMs} ms`);
}

describe('with the database down', () => {
  let postgres: ServiceProcess;
  let harness: AccountsHarness;
  let signedIn: WebClient;
  before(async () => {
    postgres = await startPostgresServer();
    // Sessions and counters in PostgreSQL too (no Redis), so the database is all there is.
    harness = await startAccountsHarness({ PORTCULLIS_DATABASE_URL: postgres.url, PORTCULLIS_REDIS_URL: '' });
    await harness.server.server.accounts.createUser({ email: 'steady@example.com', password: passwords.first, role: 'user', emailVerified: true });
    signedIn = harness.client();
    await signedIn.signIn('steady@example.com', passwords.first);
    assert.equal((await harness.server.request('/readyz')).status, 200);
    await postgres.stop();
  });
  after(async () => {
    await harness.close();
    await postgres.destroy();
  });

  it('fails /readyz, while /healthz says the process is alive', async () => {
    const started = Date.now();
    const ready = await harness.server.request('/readyz');
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.json(), { status: 'unavailable' });
    assert.ok(Date.now() - started < 5_000, 'no long wait for a connection');
    assert.equal((await harness.server.request('/healthz')).status, 200);
  });

  it('answers requests that need it with the generic 503, never a 500', async () => {
    const answers = [
      await signedIn.get('/account'),
      await signedIn.api('GET', '/me'),
      await harness.client().api('POST', '/auth/sign-in', { email: 'steady@example.com', password: passwords.first }),
      await harness.client().api('POST', '/auth/sign-up', { email: 'new@example.com', password: passwords.second }),
    ];
    for (const answer of answers) {
      assert.equal(answer.status, 503, answer.body.slice(0, 200));
      assert.doesNotMatch(answer.body, internalsPattern);
    }
    const [page, ...apiAnswers] = answers;
    for (const answer of apiAnswers) assert.equal(errorOf(answer).code, 'SERVICE_UNAVAILABLE');
    assert.match(page?.body ?? '', /The service is temporarily unavailable/);
    const unavailable = harness.server.logs().filter((line) => line.code === 'SERVICE_UNAVAILABLE');
    assert.ok(unavailable.length >= 4, 'each refusal is logged as an outage, not as a bug');
    assert.equal(harness.server.logs().filter((line) => line.msg === 'unhandled error while serving a request').length, 0);
  });

  it('recovers without a restart when the database returns', async () => {
    await postgres.start();
    await until('/readyz to answer 200', async () => (await harness.server.request('/readyz')).status === 200);
    assert.equal((await signedIn.get('/account')).status, 200, 'the session kept in the database is still there');
    assert.equal((await harness.client().api('POST', '/auth/sign-in', { email: 'steady@example.com', password: passwords.first })).status, 200);
  });
});
