// test/cli/lifecycle.test.ts
// How the process starts and stops under a supervisor (systemd, Docker, Kubernetes): SIGTERM and
// SIGINT stop it gracefully, exit 0 within the shutdown timeout, and a request already in flight
// is answered first; `portcullis migrate` applies what is pending and is safe to run again.

import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import tls from 'node:tls';
import { after, describe, it } from 'node:test';
import { freePorts, makeWorkspace, runCli, startServe, stackFramePattern, type LogLine, type RunningCli, type Workspace } from '../helpers/cli.js';

/** Short, so the tests that wait for it stay quick; the bound is what is being tested. */
const shutdownTimeoutMs = 1_000;
/** Process exit, log flushing and a loaded CI machine. */
const slack = 4_000;

const workspaces: Workspace[] = [];
const servers: RunningCli[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.stop('SIGKILL')));
  await Promise.all(workspaces.map((workspace) => workspace.cleanup()));
});

async function workspace(): Promise<Workspace> {
  const made = await makeWorkspace();
  workspaces.push(made);
  return made;
}

async function serve(): Promise<{ server: RunningCli; space: Workspace }> {
  const space = await workspace();
  const [httpsPort, httpPort] = await freePorts(2);
  const server = await startServe({
    env: {
      NODE_ENV: 'development',
      PORTCULLIS_DATA_DIR: space.dataDir,
      PORTCULLIS_HTTPS_PORT: String(httpsPort),
      PORTCULLIS_HTTP_PORT: String(httpPort),
      PORTCULLIS_SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
    },
    cwd: space.root,
  });
  servers.push(server);
  return { server, space };
}

const messageIs = (text: string) => (line: LogLine) => line.msg === text;

/** Opens a TLS connection and sends a request's first line and headers, but not the blank line that ends them. */
async function beginRequest(server: RunningCli, ca: string): Promise<{ socket: tls.TLSSocket; finish(): void; answer: Promise<string> }> {
  const url = new URL(server.url);
  const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const connecting = tls.connect({ host: url.hostname, port: Number(url.port), ca, servername: 'localhost' }, () => {
      resolve(connecting);
    });
    connecting.once('error', reject);
  });
  const answer = new Promise<string>((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {
      // A reset is an answer too: whatever arrived before it is returned.
    });
    socket.on('close', () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
  socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n');
  // Give the server a moment to read the partial request, so it is truly in flight.
  await new Promise((resolve) => setTimeout(resolve, 150));
  return {
    socket,
    finish: () => socket.write('\r\n'),
    answer,
  };
}

// Two at a time: each test starts a whole server, and CI machines have two cores.
describe('serve stops gracefully', { concurrency: 2 }, () => {
  it('exits 0 on SIGINT (Ctrl-C) within the shutdown timeout and logs that it stopped', async () => {
    const { server } = await serve();
    const sent = Date.now();
    const result = await server.stop('SIGINT');
    const took = Date.now() - sent;

    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.signal, null, 'it exited by itself, not killed by the signal');
    assert.ok(took < shutdownTimeoutMs + slack, `stopped in ${took} ms`);
    const logs = server.logs();
    assert.ok(logs.some(messageIs('SIGINT received: finishing requests in flight')), 'logs the SIGINT');
    assert.ok(logs.some(messageIs('stopped')), 'logs "stopped"');
    assert.doesNotMatch(result.stderr, stackFramePattern);
  });

  it('on SIGTERM answers the request in flight, then exits 0 within the shutdown timeout and logs that it stopped', async () => {
    const { server, space } = await serve();
    const ca = await readFile(path.join(space.dataDir, 'tls', 'cert.pem'), 'utf8');
    const inFlight = await beginRequest(server, ca);

    const sent = Date.now();
    const stopped = server.stop('SIGTERM');
    await server.waitForLog(messageIs('SIGTERM received: finishing requests in flight'));
    assert.equal(server.logs().some(messageIs('stopped')), false, 'it waits for the request before it stops');
    inFlight.finish();

    const answer = await inFlight.answer;
    assert.match(answer, /^HTTP\/1\.1 200 /, answer);
    assert.match(answer, /\{"status":"ok"\}/);
    const result = await stopped;
    const took = Date.now() - sent;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.signal, null, 'it exited by itself, not killed by the signal');
    assert.ok(took < shutdownTimeoutMs + slack, `stopped in ${took} ms`);
    assert.ok(server.logs().some(messageIs('stopped')), 'logs "stopped"');
    assert.doesNotMatch(result.stderr, stackFramePattern);
  });

  it('cuts a request that never completes once the shutdown timeout has passed, and still exits 0', async () => {
    const { server, space } = await serve();
    const ca = await readFile(path.join(space.dataDir, 'tls', 'cert.pem'), 'utf8');
    const stuck = await beginRequest(server, ca);

    const sent = Date.now();
    const result = await server.stop('SIGTERM');
    const took = Date.now() - sent;
    stuck.socket.destroy();

    assert.equal(result.code, 0, result.stderr);
    assert.ok(took >= shutdownTimeoutMs - 100, `it waited for the request (${took} ms)`);
    assert.ok(took < shutdownTimeoutMs + slack, `but no longer than the timeout allows (${took} ms)`);
    assert.ok(server.logs().some(messageIs('stopped')));
  });
});

describe('portcullis migrate', () => {
  it('applies every migration to a fresh data directory, names them and exits 0; a second run says it is up to date', async () => {
    const space = await workspace();
    const env = { PORTCULLIS_DATA_DIR: space.dataDir };

    const first = await runCli(['migrate'], { env, cwd: space.root });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^Applied: .+\n$/);
    const applied = first.stdout.slice('Applied: '.length).trim().split(', ');
    assert.ok(applied.includes('001-sessions'), first.stdout);
    for (const name of applied) assert.match(name, /^\d{3}-[a-z0-9-]+$/, 'each applied migration is named');
    assert.ok((await stat(path.join(space.dataDir, 'portcullis.db'))).size > 0, 'the database file was written');

    const second = await runCli(['migrate'], { env, cwd: space.root });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, 'The database is up to date.\n');
    assert.equal(second.stderr, '');
  });
});
