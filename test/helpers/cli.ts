// test/helpers/cli.ts
// Runs the compiled `portcullis` command as its own process, the way an operator or a supervisor
// does: a clean environment (nothing inherited but PATH), its own working and data directories,
// free loopback ports, JSON log lines read from stdout, and signals to stop it.

import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root; this file runs as dist/test/helpers/cli.js. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const cliEntry = path.join(repoRoot, 'dist', 'src', 'main.js');

export type LogLine = Record<string, unknown>;

export interface CliResult {
  /** The exit code, or null when a signal ended the process. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  readonly timedOut: boolean;
}

export interface CliOptions {
  /** Variables for the child; only PATH is inherited besides these. */
  readonly env?: Readonly<Record<string, string>>;
  /** The working directory (a .env there would be read); defaults to a fresh empty one. */
  readonly cwd?: string;
  readonly timeoutMs?: number;
  /** The main.js to run (a copy of the build elsewhere); defaults to this tree's cliEntry. */
  readonly entry?: string;
}

/** Every child still alive, so a failing test never leaves a server behind. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Loopback ports nothing listens on right now, all different from each other. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => {
      const server = net.createServer();
      return new Promise<net.Server>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: '127.0.0.1', port: 0 }, () => {
          resolve(server);
        });
      });
    }),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

export interface Workspace {
  /** The working directory for the command (empty, so no stray .env is read). */
  readonly root: string;
  /** root/data, not created: the server creates it (0700) unless a test makes it first. */
  readonly dataDir: string;
  cleanup(): Promise<void>;
}

/**
 * A fresh directory under the system temp folder. It is made traversable (0711, not listable) so
 * that a server which drops from root to another user can still reach its data directory inside.
 */
export async function makeWorkspace(): Promise<Workspace> {
  const root = await mkdtemp(path.join(tmpdir(), 'portcullis-cli-'));
  await chmod(root, 0o711);
  return {
    root,
    dataDir: path.join(root, 'data'),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

function childEnv(env: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', PORTCULLIS_LOG_FORMAT: 'json', ...env };
}

interface Spawned {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<CliResult>;
}

function spawnCli(args: readonly string[], options: CliOptions & { cwd: string }): Spawned {
  const started = Date.now();
  const child = spawn(process.execPath, [options.entry ?? cliEntry, ...args], { cwd: options.cwd, env: childEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? 20_000);
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr, durationMs: Date.now() - started, timedOut });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Runs a command to its end. */
export async function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  if (options.cwd !== undefined) return spawnCli(args, { ...options, cwd: options.cwd }).exited;
  const workspace = await makeWorkspace();
  try {
    return await spawnCli(args, { ...options, cwd: workspace.root }).exited;
  } finally {
    await workspace.cleanup();
  }
}

export function parseLogLines(stdout: string): LogLine[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        return { unparsed: line };
      }
    });
}

export interface RunningCli {
  readonly pid: number;
  /** The main listener, from the "listening" log line (https://127.0.0.1:PORT). */
  readonly url: string;
  logs(): LogLine[];
  stderr(): string;
  /** Resolves with the first log line that matches, or rejects after timeoutMs. */
  waitForLog(matches: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Sends the signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
  readonly exited: Promise<CliResult>;
}

function poll<T>(find: () => T | undefined, exited: Promise<CliResult>, timeoutMs: number, describe: () => string): Promise<T> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (action: () => void) => {
      if (done) return;
      done = true;
      clearInterval(interval);
      clearTimeout(timer);
      action();
    };
    const interval = setInterval(() => {
      const found = find();
      if (found !== undefined) {
        finish(() => {
          resolve(found);
        });
      }
    }, 25);
    const timer = setTimeout(() => {
      finish(() => {
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${describe()}`));
      });
    }, timeoutMs);
    void exited.then((result) => {
      // One last look: the line may have arrived just before the exit.
      const found = find();
      finish(() => {
        if (found !== undefined) resolve(found);
        else reject(new Error(`the process exited (code ${String(result.code)}, signal ${String(result.signal)}) before ${describe()}\nstderr: ${result.stderr}\nstdout: ${result.stdout}`));
      });
    });
  });
}

/** Starts `portcullis serve` and resolves once it logs that it is listening. */
export async function startServe(options: CliOptions & { cwd: string }): Promise<RunningCli> {
  const spawned = spawnCli(['serve'], { timeoutMs: 60_000, ...options });
  const logs = () => parseLogLines(spawned.stdout());
  const waitForLog = (matches: (line: LogLine) => boolean, timeoutMs = 30_000) =>
    poll(() => logs().find(matches), spawned.exited, timeoutMs, () => `the expected log line\nstdout so far: ${spawned.stdout()}\nstderr so far: ${spawned.stderr()}`);
  let listening: LogLine;
  try {
    listening = await waitForLog((line) => typeof line.listening === 'string' && /listening/.test(String(line.msg)));
  } catch (error) {
    spawned.child.kill('SIGKILL');
    await spawned.exited;
    throw error;
  }
  const pid = spawned.child.pid;
  if (pid === undefined) throw new Error('the server process has no pid');
  return {
    pid,
    url: String(listening.listening),
    logs,
    stderr: spawned.stderr,
    waitForLog,
    stop(signal = 'SIGTERM') {
      if (spawned.child.exitCode === null && spawned.child.signalCode === null) spawned.child.kill(signal);
      return spawned.exited;
    },
    exited: spawned.exited,
  };
}

/** Matches a Node.js stack frame ("    at fn (file:line:col)"). */
export const stackFramePattern = /^\s+at\s.+(:\d+:\d+\)?|\(native\)|<anonymous>)$/m;
