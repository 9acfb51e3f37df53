// test/storage/redis-connection.test.ts
// The connection's own command timeout (src/storage/redis.ts): a command Redis does not answer in
// time fails with the generic SERVICE_UNAVAILABLE (the request answers 503 instead of hanging), the
// connection serves again once Redis does, and answered commands are untouched. Redis is made to
// stall for real: CLIENT PAUSE holds every other client's commands on the server.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isAppError } from '../../src/errors/app-error.js';
import { createLogger } from '../../src/observability/logger.js';
import { connectRedis, type RedisConnection } from '../../src/storage/redis.js';
import { openTestRedis, type TestRedis } from '../helpers/redis.js';

describe('a Redis command that gets no answer in time', () => {
  let testRedis: TestRedis;
  let connection: RedisConnection;
  const timeoutMs = 200;

  before(async () => {
    testRedis = await openTestRedis();
    connection = connectRedis({ url: testRedis.url, prefix: testRedis.redis.prefix }, createLogger({ level: 'silent', pretty: false }), { commandTimeoutMs: timeoutMs });
    assert.ok(await connection.waitUntilReady(5_000));
  });
  after(async () => {
    await connection.close();
    await testRedis.close();
  });

  it('answers as usual while Redis answers', async () => {
    const key = `${connection.prefix}answered`;
    assert.equal(await connection.command(['SET', key, 'yes']), 'OK');
    assert.equal(await connection.command(['GET', key]), 'yes');
  });

  it('fails with SERVICE_UNAVAILABLE within the timeout and a quarter of it, then serves again', async () => {
    const pauseMs = 1_500;
    // The other connection stalls the server for everyone else.
    assert.equal(await testRedis.redis.command(['CLIENT', 'PAUSE', String(pauseMs), 'ALL']), 'OK');
    const started = performance.now();
    const outcome = await connection.command(['GET', `${connection.prefix}stalled`]).then(
      () => 'answered',
      (error: unknown) => error,
    );
    const waited = performance.now() - started;
    assert.ok(isAppError(outcome), `refused, not ${String(outcome)}`);
    assert.equal(outcome.code, 'SERVICE_UNAVAILABLE');
    assert.ok(waited >= timeoutMs - 5 && waited < timeoutMs * 1.25 + 150, `failed after ${Math.round(waited)} ms`);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    assert.equal(await connection.command(['PING']), 'PONG', 'the same connection answers once Redis does');
  });
});
