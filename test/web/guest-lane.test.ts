// test/web/guest-lane.test.ts
// The home page of a visitor who is not signed in is answered by the server's listener before
// Express (src/web/guest-lane.ts). What must hold: the answer is the chain's answer (security
// headers, request id, the general limit's headers, no-store, the same page), each request is
// counted against the general limit exactly once and refused with the chain's 429 when over it,
// logged and timed; and every request the lane cannot be sure about (a session cookie, a query
// string, a body, another method or path, plain HTTP, forwarding headers to be reported, a failing
// store) reaches Express untouched and uncounted by the lane.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import express from 'express';
import proxyAddr from 'proxy-addr';
import { noSecurityMetrics } from '../../src/observability/metrics.js';
import { refusingBefore } from '../../src/security/early-refusal.js';
import { securityHeaderList } from '../../src/security/headers.js';
import type { GeneralCount } from '../../src/security/rate-limit.js';
import { createGuestLane, type GuestLaneOptions } from '../../src/web/guest-lane.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const homePage = '<!doctype html><title>Home</title><p>Welcome, visitor – é</p>';
const securityHeaders = securityHeaderList({ hstsMaxAgeSeconds: 31_536_000, hstsPreload: false });

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface Recorded {
  reachedChain: string[];
  counted: string[];
  accessLines: Array<{ requestId: string; status: number; path: string; ip: string }>;
  observed: Array<{ method: string; route: string; status: number }>;
  limited: string[];
  reported: string[];
}

// node:http, so the request target, method and headers are sent exactly as written.
function send(baseUrl: string, target: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const { hostname, port } = new URL(baseUrl);
    const outgoing = http.request({ hostname, port, path: target, method: init.method ?? 'GET', headers: { 'x-forwarded-proto': 'https', ...init.headers } }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      incoming.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(init.body);
  });
}

describe('the guest lane in front of an application', () => {
  const recorded: Recorded = { reachedChain: [], counted: [], accessLines: [], observed: [], limited: [], reported: [] };
  /** What the fake general limit answers next: a count, a refusal, or a failing store. */
  let count: (address: string) => Promise<GeneralCount>;
  const admitted: GeneralCount = {
    refused: false,
    headers: [
      ['RateLimit', '"general"; r=7; t=880'],
      ['RateLimit-Policy', '"general"; q=10; w=900; pk=:YWJjZGVmMDEyMzQ1:'],
    ],
  };
  const servers: http.Server[] = [];

  async function serve(trustProxy: string[] | string): Promise<string> {
    const app = express();
    app.set('trust proxy', trustProxy);
    app.use((req, res) => {
      recorded.reachedChain.push(`${req.method} ${req.originalUrl}`);
      // end(), not send(): send() would answer the conditional requests below 304 with no body.
      res.status(200).end('the chain');
    });
    const options: GuestLaneOptions = {
      pages: new Map([['/', homePage]]),
      cookieName: 'pc.sid',
      countGeneral: (address) => {
        recorded.counted.push(address);
        return count(address);
      },
      application: app,
      onError: (error) => recorded.reported.push(error instanceof Error ? error.message : String(error)),
      securityHeaders,
      renderErrorPage: (error, requestId) => `<!doctype html><p>${error.publicMessage}</p><p>${requestId}</p>`,
      accessLog: (req, requestId, status) => {
        recorded.accessLines.push({ requestId, status, path: req.path, ip: req.ip ?? '' });
      },
      metrics: {
        observeAnswer: (method, route, status) => {
          recorded.observed.push({ method, route, status });
        },
        security: {
          ...noSecurityMetrics,
          rateLimited: (limiter) => {
            recorded.limited.push(limiter);
          },
        },
      },
      trustProxy: proxyAddr.compile(trustProxy),
    };
    const lane = createGuestLane(options);
    const server = http.createServer(refusingBefore(app, lane, options.onError));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  let baseUrl: string;
  before(async () => {
    // As in production behind a proxy on loopback: X-Forwarded-Proto from it is believed, so the
    // test speaks plain HTTP and says https, or says http to be a plain-HTTP request.
    baseUrl = await serve('loopback');
  });
  after(async () => {
    for (const server of servers) {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    }
  });
  beforeEach(() => {
    count = () => Promise.resolve(admitted);
    for (const list of Object.values(recorded) as unknown[][]) list.length = 0;
  });

  it('answers the page with the security headers, the request id and the limit\'s headers, counted once, and nothing after it runs', async () => {
    const answer = await send(baseUrl, '/', { headers: { cookie: 'theme=dark' } });
    assert.equal(answer.status, 200);
    assert.equal(answer.body, homePage);
    assert.deepEqual(recorded.reachedChain, [], 'Express never saw the request');
    for (const [name, value] of securityHeaders) assert.equal(answer.headers[name.toLowerCase()], value, name);
    for (const [name, value] of admitted.headers) assert.equal(answer.headers[name.toLowerCase()], value, name);
    assert.equal(answer.headers['cache-control'], 'no-store');
    assert.equal(answer.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(answer.headers['content-length'], String(Buffer.byteLength(homePage)));
    assert.equal(answer.headers['retry-after'], undefined);
    const requestId = String(answer.headers['x-request-id']);
    assert.match(requestId, /^[0-9a-f-]{36}$/);
    assert.deepEqual(recorded.counted, ['127.0.0.1'], 'counted against the general limit exactly once');
    assert.deepEqual(recorded.accessLines, [{ requestId, status: 200, path: '/', ip: '127.0.0.1' }]);
    assert.deepEqual(recorded.observed, [{ method: 'GET', route: '/', status: 200 }]);
    assert.deepEqual(recorded.reported, []);
  });

  it('answers HEAD with the same headers and no body', async () => {
    const answer = await send(baseUrl, '/', { method: 'HEAD' });
    assert.equal(answer.status, 200);
    assert.equal(answer.body, '');
    assert.equal(answer.headers['content-length'], String(Buffer.byteLength(homePage)));
    assert.equal(answer.headers.ratelimit, '"general"; r=7; t=880');
    assert.deepEqual(recorded.reachedChain, []);
    assert.deepEqual(recorded.counted, ['127.0.0.1']);
  });

  it('refuses with the chain\'s 429 when the count goes over the limit, in JSON or as a page', async () => {
    const refusal: GeneralCount = { refused: true, headers: [['RateLimit', '"general"; r=0; t=42'], ['RateLimit-Policy', '"general"; q=10; w=900; pk=:YWJjZGVmMDEyMzQ1:'], ['Retry-After', '42']] };
    count = () => Promise.resolve(refusal);
    const json = await send(baseUrl, '/', { headers: { accept: 'application/json' } });
    assert.equal(json.status, 429);
    assert.equal(json.headers['retry-after'], '42');
    assert.equal(json.headers['cache-control'], 'no-store');
    const requestId = String(json.headers['x-request-id']);
    assert.deepEqual(JSON.parse(json.body), { error: { code: 'RATE_LIMITED', message: 'Too many requests. Wait a moment and try again.', requestId } });
    const page = await send(baseUrl, '/', { headers: { accept: 'text/html' } });
    assert.equal(page.status, 429);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(page.body, /Too many requests/);
    assert.doesNotMatch(page.body, /Welcome/);
    assert.deepEqual(recorded.limited, ['general', 'general']);
    assert.deepEqual(recorded.observed.map((entry) => entry.status), [429, 429]);
    assert.deepEqual(recorded.reachedChain, []);
  });

  it('leaves to Express every request it cannot be sure of, without counting it', async () => {
    const cases: Array<[string, { method?: string; headers?: Record<string, string>; body?: string }]> = [
      ['/', { method: 'POST' }],
      ['/', { method: 'OPTIONS' }],
      ['/', { method: 'TRACE' }],
      ['/?next=/account', {}],
      ['/?', {}],
      ['/other', {}],
      ['//', {}],
      ['/index.html', {}],
      ['http://127.0.0.1/', {}],
      ['/#top', {}],
      // A session cookie, however it is placed among others: a signed-in page, or a message.
      ['/', { headers: { cookie: 'pc.sid=s%3Aabc.def' } }],
      ['/', { headers: { cookie: 'theme=dark; pc.sid=anything' } }],
      // A body on a GET: the chain's guards judge it.
      ['/', { headers: { 'content-type': 'text/plain', 'content-length': '5' }, body: 'hello' }],
      ['/', { headers: { 'transfer-encoding': 'chunked' }, body: 'hello' }],
      // Plain HTTP through the proxy: the chain redirects it to HTTPS.
      ['/', { headers: { 'x-forwarded-proto': 'http' } }],
      // A Forwarded header, which Express ignores: express-rate-limit reports it.
      ['/', { headers: { forwarded: 'for=203.0.113.9' } }],
      // Conditional requests: Express's res.send may answer them 304 (If-None-Match: * is "fresh").
      ['/', { headers: { 'if-none-match': '*' } }],
      ['/', { headers: { 'if-modified-since': 'Mon, 07 Dec 2026 17:00:00 GMT' } }],
    ];
    for (const [target, init] of cases) {
      const answer = await send(baseUrl, target, init);
      assert.equal(answer.body, 'the chain', `${init.method ?? 'GET'} ${target} ${JSON.stringify(init.headers ?? {})} goes to Express`);
    }
    assert.equal(recorded.reachedChain.length, cases.length);
    assert.deepEqual(recorded.counted, [], 'the lane counted none of them');
    assert.deepEqual(recorded.accessLines, []);
  });

  it('counts the address a trusted proxy reports; from any other peer, X-Forwarded-For goes to Express', async () => {
    const answer = await send(baseUrl, '/', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(answer.body, homePage);
    assert.deepEqual(recorded.counted, ['203.0.113.9']);
    // A server that trusts no proxy: X-Forwarded-Proto is not believed (so not HTTPS) and
    // X-Forwarded-For is a misconfiguration the chain reports; neither is the lane's.
    const untrusting = await serve([]);
    recorded.counted.length = 0;
    for (const headers of [{ 'x-forwarded-for': '203.0.113.9' }, {}] as Array<Record<string, string>>) {
      assert.equal((await send(untrusting, '/', { headers })).body, 'the chain');
    }
    assert.deepEqual(recorded.counted, []);
  });

  it('hands the request to Express when the store fails, before anything was written', async () => {
    count = () => Promise.reject(new Error('store away'));
    const answer = await send(baseUrl, '/');
    assert.equal(answer.status, 200);
    assert.equal(answer.body, 'the chain');
    assert.deepEqual(recorded.reachedChain, ['GET /']);
    // The chain's limiter meets the same failure and logs it (once a minute); the lane adds nothing.
    assert.deepEqual(recorded.reported, []);
    assert.deepEqual(recorded.accessLines, []);
  });

  it('reports a failure to write its answer and lets Express answer, without taking the server down', async () => {
    count = () => Promise.resolve({ refused: false, headers: [['RateLimit', 'broken\nvalue']] });
    const answer = await send(baseUrl, '/');
    assert.equal(answer.body, 'the chain');
    assert.equal(recorded.reported.length, 1);
    assert.match(String(recorded.reported[0]), /invalid character/i);
    count = () => Promise.resolve(admitted);
    assert.equal((await send(baseUrl, '/')).body, homePage, 'the server still answers');
  });
});

describe('the guest lane in the whole server', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ PORTCULLIS_RATE_LIMIT_MAX: '10' });
  });
  after(async () => {
    await server.close();
  });

  const withoutVarying = (headers: Record<string, unknown>) => Object.fromEntries(Object.entries(headers).filter(([name]) => !['x-request-id', 'date', 'ratelimit'].includes(name)));

  it('answers a guest\'s home page exactly as Express does, counted in the same limit', async () => {
    // The lane's answer, then the chain's for the same page: a session cookie that names no session
    // sends the request through Express, which shows the same guest page.
    const lane = await server.request('/');
    const chain = await server.request('/', { headers: { cookie: `${server.config.session.cookieName}=not-a-session` } });
    assert.equal(lane.status, 200);
    assert.equal(chain.status, 200);
    assert.equal(lane.body, chain.body);
    assert.deepEqual(withoutVarying(lane.headers), withoutVarying(chain.headers));
    assert.equal(lane.headers['set-cookie'], undefined);
    // One shared count: the lane's request was the first of the window, Express's the second.
    assert.match(String(lane.headers.ratelimit), /^"general"; r=9; t=\d+$/);
    assert.match(String(chain.headers.ratelimit), /^"general"; r=8; t=\d+$/);
    const head = await server.request('/', { method: 'HEAD' });
    assert.equal(head.body, '');
    assert.deepEqual(withoutVarying(head.headers), withoutVarying(lane.headers));
  });

  it('leaves a conditional request to the chain, which may answer it 304 (If-None-Match: * is fresh to Express)', async () => {
    const answer = await server.request('/', { headers: { 'if-none-match': '*' } });
    assert.equal(answer.status, 304);
    assert.equal(answer.body, '');
    assert.match(String(answer.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  it('logs and times its answers under the home page\'s route', async () => {
    const before = server.logs().length;
    const answer = await server.request('/');
    assert.equal(answer.status, 200);
    const line = server.logs().slice(before).find((entry) => entry.msg === 'request' && entry.requestId === answer.headers['x-request-id']);
    assert.ok(line, 'an access line with the answer\'s request id');
    assert.equal(line.status, 200);
    assert.equal(line.path, '/');
    const metrics = await server.server.monitoring.metrics.registry.metrics();
    assert.match(metrics, /http_request_duration_seconds_count\{method="GET",route="\/",status_class="2xx"\} [1-9]/);
  });

  it('refuses the request that goes over the limit with a 429, and every one after it', async () => {
    const statuses: number[] = [];
    let firstRefusal: Record<string, unknown> | undefined;
    for (let index = 0; index < 9; index += 1) {
      const answer = await server.request('/', { headers: { accept: 'application/json' } });
      statuses.push(answer.status);
      if (answer.status === 429 && firstRefusal === undefined) {
        firstRefusal = answer.headers;
        assert.equal((answer.json() as { error: { code: string } }).error.code, 'RATE_LIMITED');
        assert.match(String(answer.headers['retry-after']), /^\d+$/);
      }
    }
    // Five answered so far in this window (the first test's three, the conditional one, the logged one).
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429, 429, 429]);
    assert.ok(firstRefusal);
  });
});
