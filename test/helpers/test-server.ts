// test/helpers/test-server.ts
// Starts a real Portcullis server for a test: its own data directory, real SQLite, real HTTPS on
// an ephemeral loopback port, and its log lines captured so tests can read what was logged.

import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { request, type RequestOptions, type TestResponse } from './https-client.js';
import { createTestDatabase } from './databases.js';
import { deleteRedisPrefix, sessionBackdoor, type SessionBackdoor } from './session-backdoor.js';

/** The Redis tests use when set (CI's second pass), for example redis://127.0.0.1:56379. */
export const testRedisUrl = process.env.PORTCULLIS_TEST_REDIS_URL;

/**
 * Every test client is 127.0.0.1, so per-address limits (which a real deployment keeps at their
 * defaults) are raised for the suite; per-account throttling keeps its defaults. Tests of the
 * limits themselves set the values they check.
 */
export const suiteAddressLimits: Readonly<Record<string, string>> = {
  PORTCULLIS_RATE_LIMIT_MAX: '1000000',
  PORTCULLIS_RATE_LIMIT_AUTH_MAX: '1000000',
  PORTCULLIS_RATE_LIMIT_EMAIL_MAX: '1000000',
  PORTCULLIS_SIGN_IN_IP_MAX_FAILURES: '100000',
};

export interface TestServer {
  readonly config: Config;
  readonly server: RunningServer;
  readonly url: string;
  readonly redirectUrl: string | undefined;
  readonly port: number;
  /** The server's own certificate, the only CA the test client trusts. */
  readonly ca: string;
  readonly dataDir: string;
  /** The stored sessions, in the database or in Redis. */
  readonly sessions: SessionBackdoor;
  /** Every log line written so far, parsed. */
  logs(): Record<string, unknown>[];
  request(path: string, options?: RequestOptions): Promise<TestResponse>;
  close(): Promise<void>;
}

export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'portcullis-test-'));
  const database = await createTestDatabase(dataDir);
  // With Redis, each server gets a key prefix of its own: tests running side by side never meet.
  const redisPrefix = `portcullis-test-${randomBytes(6).toString('hex')}:`;
  const { config } = await loadConfig({
    env: {
      NODE_ENV: 'test',
      PORTCULLIS_HTTPS_PORT: '0',
      PORTCULLIS_HTTP_PORT: '0',
      PORTCULLIS_DATA_DIR: dataDir,
      PORTCULLIS_LOG_LEVEL: 'debug',
      PORTCULLIS_LOG_FORMAT: 'json',
      ...(database.url === undefined ? {} : { PORTCULLIS_DATABASE_URL: database.url }),
      ...(testRedisUrl === undefined ? {} : { PORTCULLIS_REDIS_URL: testRedisUrl, PORTCULLIS_REDIS_PREFIX: redisPrefix }),
      ...suiteAddressLimits,
      ...env,
    },
    cwd: dataDir,
    euid: 1000,
  });
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      callback();
    },
  });
  const logger = createLogger({ level: 'debug', pretty: false, destination });
  const server = await startServer({ config, logger });
  const ca = config.tls.mode === 'proxy' ? '' : await readFile(config.tls.certFile, 'utf8');
  const url = server.mainUrl;
  return {
    config,
    server,
    url,
    redirectUrl: server.redirectUrl,
    port: Number(new URL(url).port),
    ca,
    dataDir,
    sessions: sessionBackdoor(server),
    logs: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    request: (requestPath, options = {}) => request(url, requestPath, { ca, ...options }),
    async close() {
      const redis = server.shared.redis;
      if (redis?.isReady() === true && config.redis?.prefix === redisPrefix) await deleteRedisPrefix((args) => redis.command(args), redisPrefix);
      await server.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Asserts nothing in a body betrays internals: stack frames, file paths, library names. */
export const internalsPattern =
  /(\bat\s+\S+\s+\(|node_modules|\/src\/|\/dist\/|\.ts:\d|\.js:\d|Error:|express|body-parser|kysely|sqlite|better-sqlite3|pino|helmet|zod|TypeError|SyntaxError|ENOENT|stack)/i;
