// test/transport/redirect.test.ts
// Practice 9: the plain-HTTP listener only redirects, and only to PUBLIC_URL. Threats: an open
// redirect or host-header injection (Location built from the request's Host or target sends users
// to an attacker's site, or poisons caches), and content served without TLS.

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const publicOrigin = 'https://accounts.example.test';

/** Sends bytes no HTTP client would send and returns the raw answer. */
function rawExchange(port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.write(payload);
    });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => {
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.on('error', reject);
    socket.setTimeout(5_000, () => socket.destroy(new Error('raw exchange timed out')));
  });
}

function statusOf(raw: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]);
}

function locationOf(raw: string): string | undefined {
  return /\r\nlocation: ([^\r\n]*)/i.exec(raw)?.[1];
}

function send(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<http.IncomingMessage & { body: string }> {
  return new Promise((resolve, reject) => {
    const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: { ...length, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve(Object.assign(res, { body: Buffer.concat(chunks).toString('utf8') }));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the plain-HTTP listener', () => {
  let server: TestServer;
  let port: number;
  before(async () => {
    server = await startTestServer({ PORTCULLIS_PUBLIC_URL: publicOrigin });
    assert.ok(server.redirectUrl);
    port = Number(new URL(server.redirectUrl).port);
  });
  after(async () => {
    await server.close();
  });

  it('answers GET and HEAD with 301 to the same path on the public HTTPS origin', async () => {
    for (const method of ['GET', 'HEAD']) {
      const response = await send(port, method, '/account/settings');
      assert.equal(response.statusCode, 301, method);
      assert.equal(response.headers.location, `${publicOrigin}/account/settings`);
      assert.equal(response.body, '');
    }
  });

  it('answers POST, PUT, PATCH and DELETE with 308 so the method and body survive the redirect', async () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const response = await send(port, method, '/sign-in', { 'content-type': 'application/x-www-form-urlencoded' }, 'email=a%40example.com');
      assert.equal(response.statusCode, 308, method);
      assert.equal(response.headers.location, `${publicOrigin}/sign-in`);
    }
  });

  it('keeps the query string', async () => {
    const response = await send(port, 'GET', '/search?q=a%20b&page=2');
    assert.equal(response.headers.location, `${publicOrigin}/search?q=a%20b&page=2`);
  });

  it('never puts a hostile Host or X-Forwarded-Host header into Location', async () => {
    const response = await send(port, 'GET', '/next', { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' });
    assert.equal(response.statusCode, 301);
    assert.equal(response.headers.location, `${publicOrigin}/next`);
    assert.doesNotMatch(JSON.stringify(response.headers), /evil/);
  });

  it('does not redirect off-site for an absolute-form request target', async () => {
    const raw = await rawExchange(port, 'GET http://evil.example/steal?x=1 HTTP/1.1\r\nHost: evil.example\r\n\r\n');
    assert.equal(statusOf(raw), 301, raw);
    assert.equal(locationOf(raw), `${publicOrigin}/`);
    assert.doesNotMatch(raw, /evil/);
  });

  it('does not redirect off-site for protocol-relative and backslash paths', async () => {
    for (const target of ['//evil.example/', '//evil.example', '/\\evil.example', '/\\/evil.example/', '///evil.example/']) {
      const raw = await rawExchange(port, `GET ${target} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      assert.equal(statusOf(raw), 301, `${target}: ${raw}`);
      const location = locationOf(raw);
      assert.ok(location !== undefined, target);
      // Whatever the browser makes of it, the target stays on the public origin.
      assert.equal(new URL(location).origin, publicOrigin, `${target} -> ${location}`);
      assert.equal(location, `${publicOrigin}/`, target);
    }
  });

  it('keeps encoded and odd-looking paths on the public origin', async () => {
    for (const target of ['/%2F%2Fevil.example', '/@evil.example', '/.evil.example', '/%5Cevil.example']) {
      const raw = await rawExchange(port, `GET ${target} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      const location = locationOf(raw);
      assert.ok(location !== undefined, `${target}: ${raw}`);
      assert.equal(new URL(location).origin, publicOrigin, `${target} -> ${location}`);
      assert.equal(location, `${publicOrigin}${target}`);
    }
  });

  it('serves no application content over plain HTTP, not even health checks or unknown ACME tokens', async () => {
    for (const path of ['/healthz', '/assets/style.css', '/.well-known/acme-challenge/unknown-token']) {
      const response = await send(port, 'GET', path);
      assert.equal(response.statusCode, 301, path);
      assert.equal(response.body, '');
    }
  });

  it('does not open a tunnel for CONNECT', async () => {
    const raw = await rawExchange(port, 'CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n');
    // Either refused outright or redirected home; never "200 Connection established".
    assert.notEqual(statusOf(raw), 200, raw);
    const location = locationOf(raw);
    if (location !== undefined) assert.equal(new URL(location).origin, publicOrigin);
  });
});
