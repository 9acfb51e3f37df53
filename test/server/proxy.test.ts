// test/server/proxy.test.ts
// X-Forwarded-* headers are believed only from the configured proxies. A client that forges them
// changes nothing: not its address, not the scheme, not the request id.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const productionBehindProxy = (trustProxy: string) => ({
  NODE_ENV: 'production',
  PORTCULLIS_SECRET: 'a-test-master-key-that-is-long-enough-0123456789',
  PORTCULLIS_TRUST_PROXY: trustProxy,
  PORTCULLIS_PUBLIC_URL: 'https://accounts.example.test',
  PORTCULLIS_HTTP_PORT: 'off',
});

function accessLine(server: TestServer, requestId: string | string[] | undefined) {
  return server.logs().find((line) => line.msg === 'request' && line.requestId === requestId);
}

describe('with a direct TLS listener and no trusted proxy', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  it('ignores a forged X-Forwarded-For when recording the client address', async () => {
    const response = await server.request('/healthz', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(accessLine(server, response.headers['x-request-id'])?.ip, '127.0.0.1');
  });

  it('ignores a forged X-Request-Id and makes its own', async () => {
    const response = await server.request('/healthz', { headers: { 'x-request-id': 'attacker-chosen-id-123' } });
    assert.notEqual(response.headers['x-request-id'], 'attacker-chosen-id-123');
    assert.match(String(response.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });
});

describe('behind a trusted TLS-terminating proxy', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(productionBehindProxy('127.0.0.1'));
  });
  after(async () => {
    await server.close();
  });

  it('listens on plain HTTP for the proxy', () => {
    assert.equal(server.config.tls.mode, 'proxy');
    assert.match(server.url, /^http:\/\//);
  });

  it('believes the proxy about the client address, the scheme and the request id', async () => {
    const response = await server.request('/healthz', {
      headers: { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https', 'x-request-id': 'proxy-request-id-42' },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers['x-request-id'], 'proxy-request-id-42');
    assert.equal(accessLine(server, 'proxy-request-id-42')?.ip, '198.51.100.7');
  });

  it('redirects a request the proxy received over plain HTTP to the public URL', async () => {
    const get = await server.request('/account?tab=1', { headers: { 'x-forwarded-proto': 'http', host: 'evil.example' } });
    assert.equal(get.status, 301);
    assert.equal(get.headers.location, 'https://accounts.example.test/account?tab=1');
    const post = await server.request('/account', { method: 'POST', headers: { 'x-forwarded-proto': 'http' } });
    assert.equal(post.status, 308);
  });

  it('sends HSTS on every answer', async () => {
    const response = await server.request('/healthz', { headers: { 'x-forwarded-proto': 'https' } });
    assert.match(String(response.headers['strict-transport-security']), /max-age=\d{8,}; includeSubDomains/);
  });
});

describe('behind a proxy, reached by someone who is not that proxy', () => {
  let server: TestServer;
  before(async () => {
    // Only 10.0.0.0/8 is trusted; the test client on 127.0.0.1 is an untrusted peer.
    server = await startTestServer(productionBehindProxy('10.0.0.0/8'));
  });
  after(async () => {
    await server.close();
  });

  it('does not believe a forged X-Forwarded-Proto: the request is still treated as plain HTTP', async () => {
    const response = await server.request('/', { headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(response.status, 301);
    assert.equal(response.headers.location, 'https://accounts.example.test/');
  });

  it('still answers health checks, which reveal nothing, for a supervisor on plain HTTP', async () => {
    const response = await server.request('/healthz');
    assert.equal(response.status, 200);
    assert.deepEqual(response.json(), { status: 'ok' });
  });

  it('does not believe a forged X-Forwarded-For', async () => {
    const response = await server.request('/healthz', { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.50' } });
    const line = accessLine(server, response.headers['x-request-id']);
    assert.equal(line?.ip, '127.0.0.1');
  });
});
