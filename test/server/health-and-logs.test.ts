// test/server/health-and-logs.test.ts
// Health checks say "alive" and "ready" and nothing else; logs are JSON lines with a request id
// and never carry passwords, tokens, cookies or query strings.

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/observability/logger.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

describe('health checks', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  it('answers /healthz and /readyz with a status and nothing else', async () => {
    const health = await server.request('/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(health.json(), { status: 'ok' });
    const ready = await server.request('/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.json(), { status: 'ready' });
  });

  it('reports not ready once the database is closed', async () => {
    const other = await startTestServer();
    await other.server.db.destroy();
    const ready = await other.request('/readyz');
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.json(), { status: 'unavailable' });
    // The whole server, not only its listeners: its Redis client and timers would keep the test
    // process alive, and its PostgreSQL database would be left behind.
    await other.close();
  });

  it('logs each request as one JSON line with its id, path and status, without the query string', async () => {
    const response = await server.request('/healthz?token=super-secret-token');
    const line = server.logs().find((entry) => entry.requestId === response.headers['x-request-id'] && entry.msg === 'request');
    assert.ok(line);
    assert.equal(line.path, '/healthz');
    assert.equal(line.status, 200);
    assert.ok(!JSON.stringify(server.logs()).includes('super-secret-token'));
  });
});

describe('the logger', () => {
  it('redacts secrets wherever they appear', () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      pretty: false,
      destination: new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(chunk.toString());
          callback();
        },
      }),
    });
    logger.info(
      {
        password: 'p1',
        user: { newPassword: 'p2', token: 't1' },
        req: { headers: { cookie: 'c1', authorization: 'Bearer a1', 'set-cookie': 's1' } },
        nested: { deeper: { secret: 'x1' } },
        keep: 'visible',
      },
      'event',
    );
    const text = lines.join('');
    for (const secret of ['p1', 'p2', 't1', 'c1', 'Bearer a1', 's1', 'x1']) assert.ok(!text.includes(`"${secret}"`), `${secret} leaked: ${text}`);
    assert.ok(text.includes('visible'));
    assert.ok(text.includes('[redacted]'));
  });

  it('writes a line as JSON even when a message contains a newline (no log injection)', () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      pretty: false,
      destination: new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(chunk.toString());
          callback();
        },
      }),
    });
    logger.info({ path: '/x\n{"level":"fatal","msg":"forged"}' }, 'request');
    const written = lines.join('').trim().split('\n');
    assert.equal(written.length, 1);
    assert.equal((JSON.parse(written[0] ?? '') as { path: string }).path, '/x\n{"level":"fatal","msg":"forged"}');
  });
});
