// test/deploy/nginx.test.ts
// deploy/nginx/portcullis.conf, run for real: Debian's nginx (a non-daemon child with its own
// prefix, pid file, error log and a self-signed certificate) in front of two real instances that
// share PostgreSQL and Redis. Only the addresses, ports and certificate paths are replaced; every
// other line is the deployment's own. Requests flow through with the client's address and scheme
// right (a forged X-Forwarded-For from the client is dropped), the instances take turns, a session
// works whichever instance answers, and rate limits count the client, not nginx.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ensureSelfSignedCertificate } from '../../src/server/certificates.js';
import { freePorts, repoRoot } from '../helpers/cli.js';
import { openSharedServices, startInstances, stopInstances, type Instance, type SharedServices } from '../helpers/instances.js';

const nginxBinary = '/usr/sbin/nginx';
const password = 'violet kettle harbour 90 lamp';

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** Fills in this machine's addresses and paths; everything else stays as deployed. */
export function renderForTest(template: string, values: { app1: number; app2: number; https: number; http: number; cert: string; key: string }): string {
  const replaced = template
    .replace('server app1:8443', `server 127.0.0.1:${values.app1}`)
    .replace('server app2:8443', `server 127.0.0.1:${values.app2}`)
    .replace('listen 443 ssl http2;', `listen 127.0.0.1:${values.https} ssl http2;`)
    .replace('listen 80;', `listen 127.0.0.1:${values.http};`)
    .replaceAll('server_name accounts.example.com;', 'server_name localhost;')
    .replace('/etc/nginx/tls/fullchain.pem', values.cert)
    .replace('/etc/nginx/tls/privkey.pem', values.key);
  // IPv6 listeners are left out: loopback tests need one address family.
  return replaced
    .split('\n')
    .filter((line) => !/^\s*listen \[::\]/.test(line))
    .join('\n');
}

describe('nginx in front of two instances (deploy/nginx/portcullis.conf)', () => {
  let services: SharedServices;
  let instances: Instance[];
  let dir: string;
  let nginx: ChildProcess | undefined;
  let httpsPort: number;
  let httpPort: number;
  let ca: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'portcullis-nginx-'));
    await chmod(dir, 0o755);
    const ports = await freePorts(2);
    httpsPort = ports[0] ?? 0;
    httpPort = ports[1] ?? 0;
    services = await openSharedServices();
    instances = await startInstances(services, 2, {
      PORTCULLIS_PUBLIC_URL: `https://localhost:${httpsPort}`,
      PORTCULLIS_TRUST_PROXY: '127.0.0.1',
      PORTCULLIS_RATE_LIMIT_AUTH_MAX: '3',
    });
    const cert = path.join(dir, 'tls', 'fullchain.pem');
    const key = path.join(dir, 'tls', 'privkey.pem');
    await ensureSelfSignedCertificate(cert, key);
    ca = await readFile(cert, 'utf8');
    const template = await readFile(path.join(repoRoot, 'deploy', 'nginx', 'portcullis.conf'), 'utf8');
    const [app1, app2] = instances;
    await writeFile(path.join(dir, 'portcullis.conf'), renderForTest(template, { app1: app1?.port ?? 0, app2: app2?.port ?? 0, https: httpsPort, http: httpPort, cert, key }));
    // Temporary folders the worker (an unprivileged user when started as root) writes to.
    for (const folder of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
      await mkdir(path.join(dir, 'temp', folder), { recursive: true });
      await chmod(path.join(dir, 'temp', folder), 0o777);
    }
    await writeFile(
      path.join(dir, 'nginx.conf'),
      [
        'daemon off;',
        'worker_processes 1;',
        `pid ${path.join(dir, 'nginx.pid')};`,
        `error_log ${path.join(dir, 'error.log')} warn;`,
        'events { worker_connections 256; }',
        'http {',
        `  access_log ${path.join(dir, 'access.log')};`,
        `  client_body_temp_path ${path.join(dir, 'temp', 'body')};`,
        `  proxy_temp_path ${path.join(dir, 'temp', 'proxy')};`,
        `  fastcgi_temp_path ${path.join(dir, 'temp', 'fastcgi')};`,
        `  uwsgi_temp_path ${path.join(dir, 'temp', 'uwsgi')};`,
        `  scgi_temp_path ${path.join(dir, 'temp', 'scgi')};`,
        `  include ${path.join(dir, 'portcullis.conf')};`,
        '}',
        '',
      ].join('\n'),
    );
    const args = ['-p', `${dir}/`, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')];
    const checked = spawnSync(nginxBinary, [...args, '-t'], { encoding: 'utf8' });
    assert.equal(checked.status, 0, `nginx -t: ${checked.stderr}`);
    nginx = spawn(nginxBinary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      try {
        if ((await viaNginx('/healthz')).status === 200) return;
      } catch {
        // Not listening yet.
      }
      await sleep(100);
    }
    throw new Error(`nginx did not come up: ${await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '')}`);
  });
  after(async () => {
    const running = nginx;
    if (running !== undefined && isRunning(running)) {
      const exited = new Promise((resolve) => running.once('exit', resolve));
      // QUIT: finish requests, then stop.
      running.kill('SIGQUIT');
      await Promise.race([exited, sleep(5_000)]);
      if (isRunning(running)) running.kill('SIGKILL');
    }
    await stopInstances(instances);
    await services.close();
    await rm(dir, { recursive: true, force: true });
  });

  function viaNginx(
    requestPath: string,
    options: { method?: string; headers?: Record<string, string>; body?: string; from?: string; plain?: boolean } = {},
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const transport = options.plain === true ? http : https;
      const req = transport.request(
        {
          host: '127.0.0.1',
          port: options.plain === true ? httpPort : httpsPort,
          method: options.method ?? 'GET',
          path: requestPath,
          // A client on another loopback address than nginx's own, so the two can be told apart.
          localAddress: options.from ?? '127.0.0.2',
          agent: false,
          headers: { host: `localhost:${httpsPort}`, ...(options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) }), ...options.headers },
          ...(options.plain === true ? {} : { ca, servername: 'localhost' }),
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
          });
        },
      );
      req.on('error', reject);
      req.end(options.body);
    });
  }

  /** The instances' access-log lines for one request id (written when the answer finishes, so waited for). */
  const accessLines = async (requestId: string) => {
    const find = () => instances.flatMap((instance) => instance.process.logs().filter((line) => line.msg === 'request' && line.requestId === requestId).map((line) => ({ instance: instance.name, line })));
    for (let waited = 0; waited < 3_000 && find().length === 0; waited += 50) await sleep(50);
    return find();
  };

  it('passes the client address and the scheme through, and drops a forged X-Forwarded-For', async () => {
    const answer = await viaNginx('/', { headers: { accept: 'text/html', 'x-forwarded-for': '203.0.113.1', 'x-forwarded-proto': 'http' } });
    assert.equal(answer.status, 200, 'https as nginx says, not http as the client claims: no redirect');
    assert.match(String(answer.headers['strict-transport-security']), /max-age=\d{8,}; includeSubDomains/);
    assert.equal(answer.headers.server, 'nginx', 'no version in the Server header');
    const requestId = String(answer.headers['x-request-id']);
    assert.match(requestId, /^[0-9a-f]{32}$/, 'the request id is nginx\'s own, believed from the trusted proxy');
    const [seen] = await accessLines(requestId);
    assert.ok(seen, 'an instance logged the request');
    assert.equal(seen.line.ip, '127.0.0.2', 'the client address, not nginx\'s and not the forged one');
  });

  it('redirects plain HTTP to HTTPS', async () => {
    const answer = await viaNginx('/sign-in?x=1', { plain: true, headers: { host: 'localhost' } });
    assert.equal(answer.status, 301);
    assert.equal(answer.headers.location, 'https://localhost/sign-in?x=1');
  });

  it('spreads requests over both instances, and a session works whichever one answers', async () => {
    await services.createUser('balanced@example.com', password);
    const origin = `https://localhost:${httpsPort}`;
    const json = { 'content-type': 'application/json', accept: 'application/json', origin };
    const signIn = await viaNginx('/api/v1/auth/sign-in', { method: 'POST', headers: json, body: JSON.stringify({ email: 'balanced@example.com', password }) });
    assert.equal(signIn.status, 200);
    const cookies = (signIn.headers['set-cookie'] ?? []).map((line) => line.split(';', 1)[0]).join('; ');
    const served = new Set<string>();
    for (let index = 0; index < 8; index += 1) {
      const me = await viaNginx('/api/v1/me', { headers: { accept: 'application/json', cookie: cookies } });
      assert.equal(me.status, 200, `request ${index}`);
      for (const { instance } of await accessLines(String(me.headers['x-request-id']))) served.add(instance);
    }
    assert.deepEqual([...served].sort(), ['A', 'B'], 'both instances answered');
    assert.equal((await viaNginx('/api/v1/auth/sign-out', { method: 'POST', headers: { ...json, cookie: cookies } })).status, 204);
    assert.equal((await viaNginx('/api/v1/me', { headers: { accept: 'application/json', cookie: cookies } })).status, 401, 'signed out everywhere');
  });

  it('limits each client by its own address, not nginx\'s', async () => {
    const origin = `https://localhost:${httpsPort}`;
    const attempt = (from: string) =>
      viaNginx('/api/v1/auth/sign-in', { method: 'POST', from, headers: { 'content-type': 'application/json', accept: 'application/json', origin }, body: JSON.stringify({ email: 'nobody@example.com', password: 'not the password 123' }) });
    const statuses: number[] = [];
    for (let index = 0; index < 4; index += 1) statuses.push((await attempt('127.0.0.3')).status);
    assert.deepEqual(statuses, [401, 401, 401, 429], 'three posts per address in this test, across both instances');
    assert.equal((await attempt('127.0.0.4')).status, 401, 'another client is not affected');
  });

  it('refuses a body larger than the instances accept before it reaches them', async () => {
    const answer = await viaNginx('/api/v1/auth/sign-in', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(20_000) });
    assert.equal(answer.status, 413);
  });
});
