// scripts/bench/lib/children.mjs: every server under test runs as a process of its own, started
// here with an IPC channel. The child says where it listens with one message ({ type: 'ready' });
// its output goes to a log file; it stops on SIGTERM, and by itself if the benchmark goes away
// (the channel closes), so nothing outlives a run. Starting and stopping are bounded in time.

import { fork } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { clearTimeout, setTimeout } from 'node:timers';

const startTimeoutMs = 60_000;
const stopTimeoutMs = 15_000;

/**
 * @param {{ name: string, script: string, env: Record<string,string>, logFile: string, execArgv?: string[] }} options
 * @returns {Promise<{ name: string, pid: number, ready: any, stop(): Promise<number|null>, request(message: object): Promise<any> }>}
 */
export function startChild(options) {
  const log = openSync(options.logFile, 'a');
  const child = fork(options.script, [], {
    env: options.env,
    stdio: ['ignore', log, log, 'ipc'],
    execArgv: options.execArgv ?? [],
  });
  closeSync(log);
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal));
  });
  let replies = 0;
  const pending = new Map();
  child.on('message', (message) => {
    if (message?.type === 'reply' && pending.has(message.id)) {
      pending.get(message.id)(message.value);
      pending.delete(message.id);
    }
  });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${options.name} did not start within ${startTimeoutMs / 1000} s (log: ${options.logFile})`)), startTimeoutMs);
    child.on('message', (message) => {
      if (message?.type === 'ready') {
        clearTimeout(timer);
        resolve(message);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      let tail = '';
      try {
        tail = readFileSync(options.logFile, 'utf8').split('\n').slice(-15).join('\n');
      } catch {
        // no log to show
      }
      reject(new Error(`${options.name} exited (${code}) before it was ready:\n${tail}`));
    });
  });
  const handle = {
    name: options.name,
    pid: child.pid,
    ready: undefined,
    /** Asks the child something over the channel (a debug request); it answers { type: 'reply' }. */
    request(message) {
      replies += 1;
      const id = replies;
      return new Promise((resolve, reject) => {
        pending.set(id, resolve);
        // A child already stopped (the run's time is up) fails this request instead of crashing the run.
        child.send({ ...message, id }, (error) => {
          if (error === null || error === undefined) return;
          pending.delete(id);
          reject(error);
        });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  return ready.then(
    (message) => {
      handle.ready = message;
      return handle;
    },
    async (error) => {
      await handle.stop();
      throw error;
    },
  );
}

/** Resident memory of a process in bytes, read from /proc (Linux). */
export function residentBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/**
 * CPU time a process has used so far (user + system, every thread), in seconds, from /proc. Read
 * around a measured run it gives the server's CPU per request: a figure that a machine shared with
 * other work disturbs much less than requests per second.
 */
export function cpuSeconds(pid) {
  return ticksOf(`/proc/${pid}/stat`);
}

/** CPU time of a process's main thread (its event loop: JavaScript, not libuv's pool), in seconds. */
export function mainThreadCpuSeconds(pid) {
  return ticksOf(`/proc/${pid}/task/${pid}/stat`);
}

function ticksOf(file) {
  const stat = readFileSync(file, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = 100; // USER_HZ on Linux
  return (Number(fields.at(11)) + Number(fields.at(12))) / ticksPerSecond;
}

/** What every child server does: stop on SIGTERM or when the benchmark's channel closes. */
export function serveUntilStopped(close) {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => process.exit(1), stopTimeoutMs - 2_000);
    timer.unref();
    Promise.resolve(close()).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
}

/** A baseline server: `app` over HTTPS (BENCH_CERT, BENCH_KEY) on an ephemeral loopback port. */
export function serveHttps(app) {
  const server = https.createServer({ cert: readFileSync(process.env.BENCH_CERT), key: readFileSync(process.env.BENCH_KEY) }, app);
  server.listen({ host: '127.0.0.1', port: 0 }, () => {
    process.send({ type: 'ready', url: `https://127.0.0.1:${server.address().port}` });
  });
  serveUntilStopped(
    () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
}
