// test/helpers/instances.ts
// Several `portcullis serve` processes sharing one PostgreSQL database and one Redis, as behind a
// load balancer: production mode, TLS ending at a trusted proxy on 127.0.0.1, the same master key.
// The shared services are the ones CI provides (PORTCULLIS_TEST_DATABASE_URL and
// PORTCULLIS_TEST_REDIS_URL: a fresh database and a key prefix of their own), or throwaway servers.
// Also a small client that talks to them as the proxy would (X-Forwarded-For/-Proto, Origin).

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { setUpAccounts } from '../../src/accounts/setup.js';
import type { PublicUser } from '../../src/accounts/types.js';
import { createLogger } from '../../src/observability/logger.js';
import { migrateToLatest, openDatabase, type Db } from '../../src/storage/database.js';
import { freePorts, makeWorkspace, startServe, type RunningCli, type Workspace } from './cli.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { request, type TestResponse } from './https-client.js';
import { startPostgresServer, startRedisServer, type ServiceProcess } from './services.js';
import { deleteRedisPrefix } from './session-backdoor.js';
import { connectRedis } from '../../src/storage/redis.js';

export const publicOrigin = 'https://accounts.example.test';
export const sharedSecret = 'multi-instance-test-master-key-0123456789abcdef';

export interface SharedServices {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly redisPrefix: string;
  /** The throwaway servers, when the environment named none. */
  readonly postgres: ServiceProcess | undefined;
  readonly redis: ServiceProcess | undefined;
  /** A Kysely connection to the shared database, for looking behind the instances. */
  readonly db: Db;
  /** Creates a verified user directly, with the instances' pepper (same master key). */
  createUser(email: string, password: string): Promise<PublicUser>;
  close(): Promise<void>;
}

export async function openSharedServices(): Promise<SharedServices> {
  const folder = await mkdtemp(path.join(tmpdir(), 'portcullis-shared-'));
  let database: TestDatabase | undefined;
  let postgres: ServiceProcess | undefined;
  let databaseUrl: string;
  if (process.env.PORTCULLIS_TEST_DATABASE_URL !== undefined) {
    database = await createTestDatabase(folder);
    databaseUrl = database.url ?? '';
  } else {
    postgres = await startPostgresServer();
    databaseUrl = postgres.url;
  }
  const redis = process.env.PORTCULLIS_TEST_REDIS_URL === undefined ? await startRedisServer() : undefined;
  const redisUrl = process.env.PORTCULLIS_TEST_REDIS_URL ?? redis?.url ?? '';
  const redisPrefix = `portcullis-multi-${randomBytes(5).toString('hex')}:`;
  const db = openDatabase({ kind: 'postgres', url: databaseUrl, poolSize: 4, preparedStatements: true });
  await migrateToLatest(db);
  const { config } = await loadConfig({
    env: { NODE_ENV: 'test', PORTCULLIS_DATA_DIR: folder, PORTCULLIS_SECRET: sharedSecret, PORTCULLIS_BCRYPT_COST: '10', PORTCULLIS_DATABASE_URL: databaseUrl },
    cwd: folder,
    euid: 1000,
  });
  const accounts = setUpAccounts({ db, config, logger: createLogger({ level: 'silent', pretty: false }) });
  return {
    databaseUrl,
    redisUrl,
    redisPrefix,
    postgres,
    redis,
    db,
    createUser: (email, password) => accounts.service.createUser({ email, password, role: 'user', emailVerified: true }),
    async close() {
      await accounts.close();
      await db.destroy();
      const connection = connectRedis({ url: redisUrl, prefix: redisPrefix }, createLogger({ level: 'silent', pretty: false }));
      if (await connection.waitUntilReady(5_000)) await deleteRedisPrefix((args) => connection.command(args), redisPrefix);
      await connection.close();
      await database?.drop();
      await postgres?.destroy();
      await redis?.destroy();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

export interface Instance {
  readonly name: string;
  /** http://127.0.0.1:PORT: plain HTTP, as a TLS-terminating proxy reaches it. */
  readonly url: string;
  readonly port: number;
  readonly process: RunningCli;
  readonly workspace: Workspace;
}

/** The environment every instance of the deployment shares. */
export function instanceEnv(services: SharedServices, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    NODE_ENV: 'production',
    PORTCULLIS_SECRET: sharedSecret,
    // Root drops to this user before serving (production insists on naming one).
    ...(process.getuid?.() === 0 ? { PORTCULLIS_RUN_AS_USER: 'nobody' } : {}),
    PORTCULLIS_TRUST_PROXY: '127.0.0.1',
    PORTCULLIS_PUBLIC_URL: publicOrigin,
    PORTCULLIS_HOST: '127.0.0.1',
    PORTCULLIS_HTTP_PORT: 'off',
    PORTCULLIS_DATABASE_URL: services.databaseUrl,
    PORTCULLIS_REDIS_URL: services.redisUrl,
    PORTCULLIS_REDIS_PREFIX: services.redisPrefix,
    PORTCULLIS_BCRYPT_COST: '10',
    PORTCULLIS_LOG_LEVEL: 'info',
    ...extra,
  };
}

export async function startInstances(services: SharedServices, count: number, extra: Readonly<Record<string, string>> = {}): Promise<Instance[]> {
  const ports = await freePorts(count);
  const instances: Instance[] = [];
  // One after the other: the first applies any migration, the others find it done.
  for (const [index, port] of ports.entries()) {
    const workspace = await makeWorkspace();
    const running = await startServe({ cwd: workspace.root, env: { ...instanceEnv(services, extra), PORTCULLIS_HTTPS_PORT: String(port) }, timeoutMs: 600_000 });
    instances.push({ name: String.fromCharCode(65 + index), url: running.url, port, process: running, workspace });
  }
  return instances;
}

export async function stopInstances(instances: readonly Instance[]): Promise<void> {
  await Promise.all(instances.map(async (instance) => {
    await instance.process.stop('SIGTERM');
    await instance.workspace.cleanup();
  }));
}

/** A browser behind the proxy: a cookie jar, and the headers the proxy adds for it. */
export class ProxiedClient {
  readonly #cookies = new Map<string, string>();
  readonly address: string;

  constructor(address: string) {
    this.address = address;
  }

  cookie(name: string): string | undefined {
    return this.#cookies.get(name);
  }

  async call(target: string, method: string, apiPath: string, body?: unknown): Promise<TestResponse> {
    const cookie = [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const text = body === undefined ? undefined : JSON.stringify(body);
    const response = await request(target, `/api/v1${apiPath}`, {
      method,
      headers: {
        host: new URL(publicOrigin).host,
        'x-forwarded-proto': 'https',
        'x-forwarded-for': this.address,
        accept: 'application/json',
        origin: publicOrigin,
        // The API's CSRF rule wants JSON on every state change, body or not.
        ...(method === 'GET' ? {} : { 'content-type': 'application/json' }),
        ...(cookie === '' ? {} : { cookie }),
      },
      ...(text === undefined ? {} : { body: text }),
    });
    for (const line of response.headers['set-cookie'] ?? []) {
      const [pair = ''] = line.split(';', 1);
      const equals = pair.indexOf('=');
      const name = pair.slice(0, equals).trim();
      const value = pair.slice(equals + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
    return response;
  }
}
