// test/server/headers.test.ts
// Practice 4: every answer, whatever produced it, carries the same strict headers.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { request, rawTlsExchange } from '../helpers/https-client.js';

function assertStrictHeaders(headers: Record<string, string | string[] | undefined>, { hsts = true } = {}) {
  const csp = String(headers['content-security-policy']);
  assert.match(csp, /default-src 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  for (const directive of ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"]) assert.ok(csp.includes(directive), directive);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['x-frame-options'], 'DENY');
  assert.equal(headers['referrer-policy'], 'no-referrer');
  assert.equal(headers['cross-origin-opener-policy'], 'same-origin');
  assert.equal(headers['cross-origin-resource-policy'], 'same-origin');
  assert.equal(headers['x-xss-protection'], '0');
  assert.match(String(headers['permissions-policy']), /camera=\(\)/);
  assert.equal(headers['x-powered-by'], undefined);
  assert.equal(headers.server, undefined);
  if (hsts) {
    const maxAge = Number(/max-age=(\d+)/.exec(String(headers['strict-transport-security']))?.[1]);
    assert.ok(maxAge >= 31_536_000, 'HSTS max-age of at least a year');
    assert.match(String(headers['strict-transport-security']), /includeSubDomains/);
  }
}

describe('security headers', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  it('sends the strict set on a page, with no-store caching', async () => {
    const response = await server.request('/');
    assert.equal(response.status, 200);
    assertStrictHeaders(response.headers);
    assert.equal(response.headers['cache-control'], 'no-store');
  });

  it('sends the strict set on static files, JSON, 404 and errors', async () => {
    const answers = await Promise.all([
      server.request('/assets/style.css'),
      server.request('/healthz'),
      server.request('/no-such-page'),
      server.request('/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }),
      server.request('/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: 'x'.repeat(20_000) }) }),
    ]);
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [200, 200, 404, 400, 413],
    );
    for (const answer of answers) assertStrictHeaders(answer.headers);
  });

  it('sends the strict set even on answers written by the HTTP parser', async () => {
    const raw = await rawTlsExchange('127.0.0.1', server.port, server.ca, 'TRACK / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    assert.match(raw, /^HTTP\/1\.1 405/);
    assert.match(raw, /content-security-policy: default-src 'none'/i);
    assert.match(raw, /strict-transport-security: max-age=\d+; includeSubDomains/i);
  });

  it('lets static assets be cached but keeps pages uncached', async () => {
    const css = await server.request('/assets/style.css');
    assert.match(String(css.headers['cache-control']), /max-age=\d+/);
    assert.match(String(css.headers['content-type']), /text\/css/);
  });

  it('sends the headers that apply over plain HTTP on redirects, without HSTS', async () => {
    assert.ok(server.redirectUrl);
    const response = await request(server.redirectUrl, '/');
    assert.equal(response.status, 301);
    assertStrictHeaders(response.headers, { hsts: false });
    assert.equal(response.headers['strict-transport-security'], undefined);
  });

  it('adds preload to HSTS only when configured', async () => {
    const preloading = await startTestServer({ PORTCULLIS_HSTS_PRELOAD: 'true' });
    try {
      const response = await preloading.request('/');
      assert.match(String(response.headers['strict-transport-security']), /; preload$/);
    } finally {
      await preloading.close();
    }
    const plain = await server.request('/');
    assert.doesNotMatch(String(plain.headers['strict-transport-security']), /preload/);
  });
});
