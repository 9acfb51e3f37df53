// test/helpers/services.ts
// Throwaway Redis and PostgreSQL servers for tests that stop and restart them (fault tests, the
// multi-instance test). Each runs on a free loopback port in its own temporary folder and is
// removed afterwards; the shared development servers are never touched. PostgreSQL refuses to run
// as root, so when the tests run as root its cluster belongs to a dedicated user made with useradd.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => {
    resolve();
  }));
  return port;
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms`);
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createServer().listen(port, '127.0.0.1');
    socket.once('listening', () => {
      socket.close();
      resolve(false);
    });
    socket.once('error', () => {
      resolve(true);
    });
  });
}

export interface ServiceProcess {
  readonly url: string;
  readonly port: number;
  /** Stops the server (it stays stopped until start()). */
  stop(): Promise<void>;
  /** Starts it again on the same port, with the data it had. */
  start(): Promise<void>;
  /** Stops it for good and deletes its folder. */
  destroy(): Promise<void>;
}

// Redis ------------------------------------------------------------------------------------------

export async function startRedisServer(): Promise<ServiceProcess> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async () => {
    // An append-only file synced on every write: what was acknowledged survives a restart.
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir, '--protected-mode', 'yes'], {
      stdio: 'ignore',
    });
    const started = child;
    await waitFor('redis-server', async () => started.exitCode === null && (await redisPing(port)), 10_000);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (isRunning(running)) running.kill('SIGKILL');
    await waitFor('redis-server to stop', async () => !(await portAnswers(port)), 10_000);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    async destroy() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function redisPing(port: number): Promise<boolean> {
  const result = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8', timeout: 2_000 });
  return Promise.resolve(result.stdout.trim() === 'PONG');
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

// PostgreSQL -------------------------------------------------------------------------------------

/** The server binaries of whatever PostgreSQL Debian installed (15 on Debian 12, newer on 13). */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const bin = path.join(root, version, 'bin');
    if (existsSync(path.join(bin, 'initdb'))) return bin;
  }
  throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)');
}

const postgresUser = 'portcullis-pgtest';

/** Who runs the cluster: ourselves, or (as root, which initdb refuses) a user made for it. */
function clusterOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = () => spawnSync('id', ['-u', postgresUser], { encoding: 'utf8' });
  if (lookup().status !== 0) {
    const made = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', postgresUser], { encoding: 'utf8' });
    if (made.status !== 0 && lookup().status !== 0) throw new Error(`useradd ${postgresUser} failed: ${made.stderr}`);
  }
  const uid = Number(lookup().stdout.trim());
  const gid = Number(spawnSync('id', ['-g', postgresUser], { encoding: 'utf8' }).stdout.trim());
  return { uid, gid };
}

function runAs(owner: { uid: number; gid: number } | undefined, command: string, args: string[], timeoutMs: number): { status: number | null; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: timeoutMs, ...(owner === undefined ? {} : { uid: owner.uid, gid: owner.gid }), env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' } });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

export async function startPostgresServer(): Promise<ServiceProcess> {
  const bin = postgresBinDir();
  const owner = clusterOwner();
  const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-pg-'));
  if (owner !== undefined) chownSync(dir, owner.uid, owner.gid);
  const data = path.join(dir, 'data');
  const port = await freePort();
  const init = runAs(owner, path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'], 60_000);
  if (init.status !== 0) throw new Error(`initdb failed: ${init.output}`);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=60`;

  const start = async () => {
    const started = runAs(owner, path.join(bin, 'pg_ctl'), ['-D', data, '-o', options, '-l', path.join(dir, 'log'), '-w', '-t', '30', 'start'], 40_000);
    if (started.status !== 0) throw new Error(`pg_ctl start failed: ${started.output}`);
    await waitFor('postgres', () => portAnswers(port), 10_000);
  };
  const stop = async () => {
    // "fast": open connections are cut, as when a server goes down under load.
    runAs(owner, path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop'], 40_000);
    await waitFor('postgres to stop', async () => !(await portAnswers(port)), 10_000);
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop,
    async destroy() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
