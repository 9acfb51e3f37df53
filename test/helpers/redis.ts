// test/helpers/redis.ts
// A Redis connection for tests below the HTTP layer: PORTCULLIS_TEST_REDIS_URL when set (CI's
// second pass, the development Redis), else a throwaway redis-server. Each gets a key prefix of its
// own, deleted afterwards, so tests never see each other's keys.

import { randomBytes } from 'node:crypto';
import { createLogger } from '../../src/observability/logger.js';
import { connectRedis, type RedisConnection } from '../../src/storage/redis.js';
import { startRedisServer, type ServiceProcess } from './services.js';
import { deleteRedisPrefix } from './session-backdoor.js';

export interface TestRedis {
  readonly redis: RedisConnection;
  readonly url: string;
  /** The throwaway server, when one was started (tests may stop and restart it). */
  readonly server: ServiceProcess | undefined;
  close(): Promise<void>;
}

export async function openTestRedis(options: { throwaway?: boolean } = {}): Promise<TestRedis> {
  const shared = options.throwaway === true ? undefined : process.env.PORTCULLIS_TEST_REDIS_URL;
  const server = shared === undefined ? await startRedisServer() : undefined;
  const url = shared ?? server?.url ?? '';
  const prefix = `portcullis-test-${randomBytes(6).toString('hex')}:`;
  const redis = connectRedis({ url, prefix }, createLogger({ level: 'silent', pretty: false }));
  if (!(await redis.waitUntilReady(10_000))) throw new Error(`Redis at ${url} is not reachable`);
  return {
    redis,
    url,
    server,
    async close() {
      if (redis.isReady()) await deleteRedisPrefix((args) => redis.command(args), prefix);
      await redis.close();
      await server?.destroy();
    },
  };
}
