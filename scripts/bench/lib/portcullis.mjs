// scripts/bench/lib/portcullis.mjs: a Portcullis instance for the benchmark. Its own data folder,
// a production configuration (a certificate, a master key, JSON logs to a file), SQLite or a fresh
// PostgreSQL database and a Redis key prefix of its own; per-address limits raised like the test
// suite's (every request comes from 127.0.0.1), except on the instance that measures the 429 path.
// A user is made with the real CLI (`portcullis user create`), signs in over HTTPS, and live
// sessions can be added in bulk through the server's own session store classes, so what is stored
// is exactly what a sign-in stores.

import { Buffer } from 'node:buffer';
import { createHmac, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { startChild } from './children.mjs';

export const benchEmail = 'bench@example.com';
// A long passphrase the password policy accepts (no word of the site or the address).
export const benchPassword = 'orbit lantern cobble fjord quiet marmalade';

/** The checkout whose dist/ is benchmarked; --compare-with names another (a build from before a change). */
const defaultRoot = path.resolve(import.meta.dirname, '../../..');

/** A free loopback port (the public URL must name the port before the server starts). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** One HTTPS request to a loopback server; the certificate is the run's own (checked). */
export function httpsRequest(url, requestPath, { method = 'GET', headers = {}, body, ca } = {}) {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: target.hostname,
        port: target.port,
        method,
        path: requestPath,
        ca,
        servername: 'localhost',
        agent: false,
        headers: { ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }), ...headers },
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${requestPath} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function adminQuery(adminUrl, statement) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Runs the real CLI with the instance's environment; resolves with its exit code and output. */
function runCli(root, env, args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'dist/src/main.js'), ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
    child.stdin.end(input);
  });
}

/**
 * @param {object} options
 * @param {string} options.name        label, also the log file's name
 * @param {string} options.workDir     the run's temporary folder
 * @param {{ cert: string, key: string, pem: string }} options.tls
 * @param {string} [options.postgresAdminUrl]  a PostgreSQL server where a database is created
 * @param {string} [options.redisUrl]
 * @param {Record<string,string>} [options.env]  settings that differ from the benchmark's defaults
 * @param {string[]} [options.execArgv]          node flags for the server (--cpu-prof, --expose-gc)
 * @param {string} [options.root]                a checkout with a built dist/ (default: this one)
 */
export async function startPortcullis(options) {
  const root = options.root ?? defaultRoot;
  const distUrl = (file) => pathToFileURL(path.join(root, 'dist/src', file)).href;
  const dataDir = await mkdtemp(path.join(options.workDir, `${options.name}-`));
  const port = await freePort();
  const metricsPort = await freePort();
  const publicUrl = `https://localhost:${port}`;
  let dropDatabase = async () => undefined;
  let databaseUrl;
  if (options.postgresAdminUrl !== undefined) {
    // Our own name, hex digits only: safe in the statement.
    const name = `portcullis_bench_${randomBytes(6).toString('hex')}`;
    await adminQuery(options.postgresAdminUrl, `CREATE DATABASE ${name}`);
    const url = new URL(options.postgresAdminUrl);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    dropDatabase = () => adminQuery(options.postgresAdminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
  const redisPrefix = `portcullis-bench-${randomBytes(6).toString('hex')}:`;
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    NODE_ENV: 'production',
    PORTCULLIS_HOST: '127.0.0.1',
    PORTCULLIS_HTTPS_PORT: String(port),
    PORTCULLIS_HTTP_PORT: 'off',
    PORTCULLIS_PUBLIC_URL: publicUrl,
    PORTCULLIS_DATA_DIR: dataDir,
    PORTCULLIS_SECRET: randomBytes(48).toString('base64'),
    PORTCULLIS_TLS_CERT: options.tls.cert,
    PORTCULLIS_TLS_KEY: options.tls.key,
    PORTCULLIS_METRICS_ADDR: `127.0.0.1:${metricsPort}`,
    PORTCULLIS_LOG_LEVEL: 'info',
    PORTCULLIS_LOG_FORMAT: 'json',
    PORTCULLIS_RATE_LIMIT_MAX: '1000000',
    PORTCULLIS_RATE_LIMIT_AUTH_MAX: '1000000',
    PORTCULLIS_RATE_LIMIT_EMAIL_MAX: '1000000',
    PORTCULLIS_SIGN_IN_IP_MAX_FAILURES: '100000',
    // Production refuses root without a user to drop to; the CLI (user create) reads the same
    // settings. The launcher itself never drops (see servers/portcullis.mjs).
    ...(process.geteuid?.() === 0 ? { PORTCULLIS_RUN_AS_USER: 'nobody' } : {}),
    ...(databaseUrl === undefined ? {} : { PORTCULLIS_DATABASE_URL: databaseUrl }),
    ...(options.redisUrl === undefined ? {} : { PORTCULLIS_REDIS_URL: options.redisUrl, PORTCULLIS_REDIS_PREFIX: redisPrefix }),
    ...options.env,
  };
  let child;
  try {
    child = await startChild({
      name: options.name,
      script: path.join(import.meta.dirname, '../servers/portcullis.mjs'),
      env: { ...env, BENCH_PORTCULLIS_ROOT: root },
      logFile: path.join(options.workDir, `${options.name}.log`),
      execArgv: options.execArgv ?? [],
    });
  } catch (error) {
    await dropDatabase();
    throw error;
  }

  const { loadConfig } = await import(distUrl('config/load.js'));
  const { deriveKey } = await import(distUrl('security/keys.js'));
  const { config } = await loadConfig({ env, cwd: dataDir, euid: 65_534 });
  const cookieSecret = deriveKey(config.masterKey, 'session-cookie').toString('base64');
  const cookieName = config.session.cookieName;
  /** The Cookie header a browser holding this session id sends (express-session's signed value). */
  const cookieFor = (sid) => {
    const signature = createHmac('sha256', cookieSecret).update(sid).digest('base64').replace(/=+$/, '');
    return `${cookieName}=${encodeURIComponent(`s:${sid}.${signature}`)}`;
  };

  const instance = {
    name: options.name,
    url: child.ready.url,
    metricsUrl: child.ready.metricsUrl,
    publicOrigin: config.publicOrigin,
    pid: child.pid,
    child,
    config,
    env,
    cookieFor,
    /** Makes the benchmark's user with `portcullis user create` (its password on stdin). */
    async createUser(email = benchEmail) {
      const result = await runCli(root, env, ['user', 'create', '--email', email], `${benchPassword}\n`);
      if (result.code !== 0) throw new Error(`portcullis user create failed (${result.code}): ${result.output}`);
    },
    /** Signs in through the JSON API; returns the session's Cookie header. */
    async signIn(email = benchEmail) {
      const answer = await httpsRequest(instance.url, '/api/v1/auth/sign-in', {
        method: 'POST',
        ca: options.tls.pem,
        headers: { 'content-type': 'application/json', accept: 'application/json', origin: config.publicOrigin },
        body: JSON.stringify({ email, password: benchPassword }),
      });
      const line = (answer.headers['set-cookie'] ?? []).find((entry) => entry.startsWith(`${cookieName}=`));
      if (answer.status !== 200 || line === undefined) throw new Error(`sign-in failed: ${answer.status} ${answer.body}`);
      return line.split(';', 1)[0];
    },
    /**
     * Adds `count` live sessions of the user behind `templateCookie`, through the server's own
     * store class (KyselySessionStore or RedisSessionStore) from this process; returns their
     * Cookie headers. The stored data is the template session's own, so each one is a signed-in
     * session as far as the server can tell.
     */
    async seedSessions(templateCookie, count) {
      const { hashSessionId } = await import(distUrl('storage/sessions/kysely-session-store.js'));
      const template = decodeURIComponent(templateCookie.split('=').slice(1).join('=')).slice(2).split('.')[0];
      const store = await openStore();
      try {
        const data = await store.store.readSession(template);
        if (data === null) throw new Error(`the template session ${hashSessionId(template).slice(0, 8)}… is not in the store`);
        delete data.persisted;
        const cookies = [];
        const batch = [];
        for (let index = 0; index < count; index += 1) {
          const sid = randomBytes(32).toString('base64url');
          cookies.push(cookieFor(sid));
          batch.push(sid);
          if (batch.length === 500 || index === count - 1) {
            await store.writeMany(batch.splice(0), data);
          }
        }
        return cookies;
      } finally {
        await store.close();
      }
    },
    async stop() {
      await child.stop();
      if (options.redisUrl !== undefined) await deletePrefix(options.redisUrl, redisPrefix);
      await dropDatabase();
    },
  };

  /** The instance's session store, opened from this process with the server's own classes. */
  async function openStore() {
    const { openDatabase } = await import(distUrl('storage/database.js'));
    const { KyselySessionStore } = await import(distUrl('storage/sessions/kysely-session-store.js'));
    const { createLogger } = await import(distUrl('observability/logger.js'));
    const logger = createLogger({ level: 'silent', pretty: false });
    if (config.redis === undefined) {
      const db = openDatabase(config.database);
      return {
        store: new KyselySessionStore(db, config.session),
        // One transaction a batch, through a store bound to it: the rows writeSession makes.
        writeMany: (sids, data) =>
          db.transaction().execute(async (trx) => {
            const inTransaction = new KyselySessionStore(trx, config.session);
            for (const sid of sids) await inTransaction.writeSession(sid, data);
          }),
        close: () => db.destroy(),
      };
    }
    const { connectRedis } = await import(distUrl('storage/redis.js'));
    const { RedisSessionStore } = await import(distUrl('storage/sessions/redis-session-store.js'));
    const redis = connectRedis(config.redis, logger);
    if (!(await redis.waitUntilReady(5_000))) throw new Error('Redis did not answer within 5 s');
    const store = new RedisSessionStore(redis, config.session);
    return {
      store,
      // Sent together: the client pipelines commands issued in the same tick.
      writeMany: (sids, data) => Promise.all(sids.map((sid) => store.writeSession(sid, data))),
      close: () => redis.close(),
    };
  }

  return instance;
}

/** Deletes every key under the instance's prefix, so the shared Redis is left as it was. */
async function deletePrefix(redisUrl, prefix) {
  const { createClient } = await import('redis');
  const client = createClient({ url: redisUrl });
  await client.connect();
  try {
    let cursor = '0';
    for (let round = 0; round < 100_000; round += 1) {
      const reply = await client.sendCommand(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000']);
      cursor = String(reply[0]);
      if (reply[1].length > 0) await client.sendCommand(['UNLINK', ...reply[1]]);
      if (cursor === '0') break;
    }
  } finally {
    await client.quit();
  }
}
