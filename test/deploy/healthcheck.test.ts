// test/deploy/healthcheck.test.ts
// The container's HEALTHCHECK (scripts/healthcheck.mjs) must say healthy only when the server
// answers /healthz, over HTTPS with its own certificate or over plain HTTP behind a TLS proxy,
// and unhealthy when nothing answers; otherwise Docker restarts a good container or keeps a dead one.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { freePorts, makeWorkspace, repoRoot, startServe, type RunningCli, type Workspace } from '../helpers/cli.js';

const script = path.join(repoRoot, 'scripts', 'healthcheck.mjs');
const isRoot = process.geteuid?.() === 0;

function runHealthcheck(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('the container health check', { concurrency: true }, () => {
  const workspaces: Workspace[] = [];
  const servers: RunningCli[] = [];
  after(async () => {
    await Promise.all(servers.map((server) => server.stop('SIGKILL')));
    await Promise.all(workspaces.map((workspace) => workspace.cleanup()));
  });

  async function serve(env: Record<string, string>): Promise<{ server: RunningCli; httpsPort: number }> {
    const workspace = await makeWorkspace();
    workspaces.push(workspace);
    const [httpsPort = 0, httpPort = 0] = await freePorts(2);
    const server = await startServe({
      env: { PORTCULLIS_DATA_DIR: workspace.dataDir, PORTCULLIS_HTTPS_PORT: String(httpsPort), PORTCULLIS_HTTP_PORT: String(httpPort), ...env },
      cwd: workspace.root,
    });
    servers.push(server);
    return { server, httpsPort };
  }

  it('says healthy (exit 0) for a server answering over HTTPS with a self-signed certificate', async () => {
    const { server, httpsPort } = await serve({ NODE_ENV: 'development' });
    assert.match(server.url, /^https:/);
    const result = await runHealthcheck({ PORTCULLIS_HTTPS_PORT: String(httpsPort), PORTCULLIS_HOST: '0.0.0.0' });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(server.logs().some((line) => line.path === '/healthz' && line.status === 200), 'the request reached the server');
  });

  it('says healthy behind a TLS-terminating proxy, where the listener speaks plain HTTP', async () => {
    const { server, httpsPort } = await serve({
      NODE_ENV: 'production',
      PORTCULLIS_PUBLIC_URL: 'https://accounts.example.test',
      PORTCULLIS_SECRET: randomBytes(48).toString('base64'),
      PORTCULLIS_TRUST_PROXY: '127.0.0.1',
      ...(isRoot ? { PORTCULLIS_RUN_AS_USER: 'nobody' } : {}),
    });
    assert.match(server.url, /^http:/);
    const result = await runHealthcheck({ PORTCULLIS_HTTPS_PORT: String(httpsPort) });
    assert.equal(result.code, 0, result.stderr);
  });

  it('says unhealthy (exit 1) with a reason when nothing listens', async () => {
    const [port = 0] = await freePorts(1);
    const result = await runHealthcheck({ PORTCULLIS_HTTPS_PORT: String(port) });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^healthcheck: .*ECONNREFUSED/);
  });
});
