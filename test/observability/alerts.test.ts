// test/observability/alerts.test.ts
// The alert webhook: when failed authentications per minute or newly throttled accounts reach
// their thresholds, one signed JSON POST per episode reaches a receiver on loopback; it carries
// counts and truncated networks, never a secret, an address or an account; a receiver that fails
// is retried with back-off, a bounded number of times.

import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createAuditTrail } from '../../src/accounts/audit.js';
import { auditChainKey } from '../../src/observability/audit-chain.js';
import { startAlerts } from '../../src/observability/alerts.js';
import { createLogger } from '../../src/observability/logger.js';
import { openTestDb } from '../helpers/databases.js';
import { WebClient } from '../web/support/client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { waitFor } from './support.js';

interface Received {
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** A webhook receiver on loopback that answers each POST with the next status in `statuses` (then 200). */
async function startReceiver(statuses: number[] = []): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}/hook`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

const secret = 'alert-webhook-secret-0123456789abcdef';

function signatureIsValid(header: string | string[] | undefined, body: string): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(header));
  if (match?.[1] === undefined || match[2] === undefined) return false;
  if (Math.abs(Date.now() / 1000 - Number(match[1])) > 60) return false;
  const expected = createHmac('sha256', secret).update(`${match[1]}.${body}`, 'utf8').digest();
  return timingSafeEqual(expected, Buffer.from(match[2], 'hex'));
}

describe('alert webhook', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let server: TestServer;
  before(async () => {
    receiver = await startReceiver();
    server = await startTestServer({
      PORTCULLIS_ALERT_WEBHOOK_URL: receiver.url,
      PORTCULLIS_ALERT_WEBHOOK_SECRET: secret,
      PORTCULLIS_ALERT_FAILURES_PER_MINUTE: '3',
      PORTCULLIS_ALERT_THROTTLED_ACCOUNTS: '1',
      PORTCULLIS_SIGN_IN_THROTTLE_AFTER: '2',
      PORTCULLIS_RATE_LIMIT_AUTH_MAX: '1000',
      PORTCULLIS_SIGN_IN_IP_MAX_FAILURES: '1000',
      PORTCULLIS_BCRYPT_COST: '10',
    });
    await server.server.accounts.createUser({ email: 'attacked@example.com', password: 'violet kettle harbour 90 lamp', role: 'user', emailVerified: true });
  });
  after(async () => {
    await server.close();
    await receiver.close();
  });

  async function fail(email: string) {
    const client = new WebClient(server);
    await client.get('/sign-in');
    assert.equal((await client.submit('/sign-in', { email, password: 'guess number something 1' })).status, 401);
  }

  it('sends one signed alert per threshold crossed, with counts and networks but no secret, address or account', async () => {
    // Two failures on one account start its throttling: the throttled-accounts threshold (1) is met.
    await fail('attacked@example.com');
    await fail('attacked@example.com');
    await waitFor(() => Promise.resolve(receiver.received.length), (count) => count >= 1, 10_000);
    // A third failure within the minute meets the failures threshold (3).
    await fail('someone-else@example.com');
    await waitFor(() => Promise.resolve(receiver.received.length), (count) => count >= 2, 10_000);
    // More of the same is the same episode: no further alert.
    await fail('someone-else@example.com');
    await fail('attacked@example.com');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(receiver.received.length, 2, 'one alert per kind and episode');

    const alerts = receiver.received.map((entry) => ({ ...entry, payload: JSON.parse(entry.body) as Record<string, unknown> }));
    assert.deepEqual(alerts.map((alert) => alert.payload.kind).sort(), ['authentication_failures', 'throttled_accounts']);
    for (const alert of alerts) {
      assert.equal(alert.headers['content-type'], 'application/json');
      assert.ok(signatureIsValid(alert.headers['x-portcullis-signature'], alert.body), 'the HMAC-SHA-256 signature verifies with the shared secret');
      assert.equal(alert.headers['x-portcullis-alert-id'], alert.payload.id);
      assert.equal(alert.payload.source, 'portcullis');
      assert.equal(alert.payload.dashboard, `${server.config.publicOrigin}/admin/security`);
      for (const forbidden of [secret, 'attacked@example.com', 'someone-else@example.com', '127.0.0.1', server.config.masterKey.toString('utf8')]) {
        assert.ok(!alert.body.includes(forbidden), `the alert does not contain ${forbidden.slice(0, 12)}…`);
      }
    }
    const failures = alerts.find((alert) => alert.payload.kind === 'authentication_failures')?.payload;
    assert.ok(failures !== undefined);
    assert.equal(failures.threshold, 3);
    assert.ok(Number(failures.observed) >= 3);
    assert.deepEqual(failures.topNetworks, [{ network: '127.0.0.0/24', failures: Number(failures.observed) }]);
    const throttled = alerts.find((alert) => alert.payload.kind === 'throttled_accounts')?.payload;
    assert.equal(throttled?.observed, 1);
    const sent = server.logs().filter((line) => line.code === 'SECURITY_ALERT_SENT');
    assert.equal(sent.length, 2);
  });
});

describe('alert delivery', () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'info',
    pretty: false,
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>));
        done();
      },
    }),
  });

  async function scenario(statuses: number[], maxAttempts: number, webhookUrl?: string) {
    const opened = await openTestDb();
    const receiver = await startReceiver(statuses);
    const key = auditChainKey(Buffer.from('alert-delivery-test-master-key-0123456789'));
    const trail = createAuditTrail(opened.db, logger, Date.now, key);
    const monitor = startAlerts({ db: opened.db, config: { webhookUrl: webhookUrl ?? receiver.url, secret, failuresPerMinute: 2, throttledAccounts: 100 }, logger, publicOrigin: 'https://accounts.example', retryBaseMs: 50, maxAttempts });
    for (let index = 0; index < 2; index += 1) {
      await trail.record({ type: 'sign_in', outcome: 'failure', actorId: null, subjectId: null, ip: '203.0.113.9', userAgent: null, detail: { reason: 'wrong_password' } });
    }
    return {
      receiver,
      close: async () => {
        await monitor.stop();
        await receiver.close();
        await opened.close();
      },
    };
  }

  it('retries a failing receiver with growing delays and delivers the same alert', async () => {
    const { receiver, close } = await scenario([503, 500], 5);
    try {
      await waitFor(() => Promise.resolve(receiver.received.length), (count) => count >= 3, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(receiver.received.length, 3, 'two refusals, then one delivery, then nothing more');
      const ids = new Set(receiver.received.map((entry) => entry.headers['x-portcullis-alert-id']));
      assert.equal(ids.size, 1, 'the same alert each time');
      for (const entry of receiver.received) assert.ok(signatureIsValid(entry.headers['x-portcullis-signature'], entry.body));
      assert.ok(lines.some((line) => line.code === 'SECURITY_ALERT_REFUSED' && line.status === 503));
      assert.ok(lines.some((line) => line.code === 'SECURITY_ALERT_SENT' && line.attempt === 3));
    } finally {
      await close();
    }
  });

  it('gives up after a bounded number of attempts when the receiver cannot be reached', async () => {
    const { close } = await scenario([], 3, 'http://127.0.0.1:9/unreachable');
    try {
      const undelivered = await waitFor(() => Promise.resolve(lines.find((line) => line.code === 'SECURITY_ALERT_UNDELIVERED')), (line) => line !== undefined, 10_000);
      assert.ok(undelivered !== undefined, 'an undeliverable alert is logged as an error');
      assert.equal(lines.filter((line) => line.code === 'SECURITY_ALERT_UNREACHABLE').length, 3);
    } finally {
      await close();
    }
  });
});
