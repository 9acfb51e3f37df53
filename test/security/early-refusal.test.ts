// test/security/early-refusal.test.ts
// Threat: a flood from one address. Once the general limit has refused an address, its requests
// are answered 429 by the server's listener before Express sees them (src/security/early-refusal.ts)
// and nothing after it runs: no metrics timing, sessions, body parsing or routes. What must hold: the answer is the
// complete refusal (security headers, request id, rate-limit headers, generic body or page),
// logged and counted; and every request the chain answers before the limit (TRACE, health checks,
// static assets, plain HTTP behind a proxy, undecodable paths) still reaches the chain, uncounted.
// The whole server's answers, library and lane side by side, are compared in rate-limit.test.ts.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import express from 'express';
import proxyAddr from 'proxy-addr';
import { noSecurityMetrics } from '../../src/observability/metrics.js';
import { createEarlyRefusal, refusingBefore } from '../../src/security/early-refusal.js';
import { securityHeaderList } from '../../src/security/headers.js';
import type { KnownRefusal } from '../../src/security/rate-limit.js';

const refusal: KnownRefusal = {
  limiter: 'general',
  headers: [
    ['RateLimit', '"general"; r=0; t=42'],
    ['RateLimit-Policy', '"general"; q=10; w=900; pk=:YWJjZGVmMDEyMzQ1:'],
    ['Retry-After', '42'],
  ],
};

interface Answer {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
  json(): Promise<unknown>;
}

interface Recorded {
  asked: string[];
  reachedChain: string[];
  accessLines: Array<{ requestId: string; status: number; path: string }>;
  observed: Array<{ method: string; route: string; status: number }>;
  counted: string[];
}

describe('refusing a known offender before any other work', () => {
  let server: http.Server;
  let baseUrl: string;
  let offender: string | undefined;
  const recorded: Recorded = { asked: [], reachedChain: [], accessLines: [], observed: [], counted: [] };

  before(async () => {
    const app = express();
    // As in production behind a proxy on loopback: X-Forwarded-Proto from it is believed, so the
    // test speaks plain HTTP and says https, or leaves it out to be a plain-HTTP request.
    app.set('trust proxy', 'loopback');
    const refuseKnownOffender = createEarlyRefusal({
      knownRefusal: (address) => {
        recorded.asked.push(address);
        return address === offender ? refusal : undefined;
      },
      securityHeaders: securityHeaderList({ hstsMaxAgeSeconds: 31_536_000, hstsPreload: false }),
      renderErrorPage: (error, requestId) => `<!doctype html><title>${error.status}</title><p>${error.publicMessage}</p><p>${requestId}</p>`,
      accessLog: (req, requestId, status) => {
        recorded.accessLines.push({ requestId, status, path: req.path });
      },
      metrics: {
        observeAnswer: (method, route, status) => {
          recorded.observed.push({ method, route, status });
        },
        security: {
          ...noSecurityMetrics,
          rateLimited: (limiter) => {
            recorded.counted.push(limiter);
          },
        },
      },
      trustProxy: proxyAddr.compile('loopback'),
    });
    app.use((req, res) => {
      recorded.reachedChain.push(`${req.method} ${req.path}`);
      res.status(200).send('the chain');
    });
    server = http.createServer((req, res) => {
      if (!refuseKnownOffender(req, res)) app(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  });
  beforeEach(() => {
    offender = '127.0.0.1';
    for (const list of Object.values(recorded) as unknown[][]) list.length = 0;
  });

  // node:http rather than fetch: fetch refuses to send TRACE.
  // The path is sent as the request target byte for byte, so it may also be an absolute URL.
  const send = (path: string, init: { method?: string; headers?: Record<string, string>; to?: string } = {}) =>
    new Promise<Answer>((resolve, reject) => {
      const { hostname, port } = new URL(init.to ?? baseUrl);
      const outgoing = http.request({ hostname, port, path, method: init.method ?? 'GET', headers: { 'x-forwarded-proto': 'https', ...init.headers } }, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: incoming.statusCode ?? 0,
            headers: { get: (name) => { const value = incoming.headers[name.toLowerCase()]; return value === undefined ? null : String(value); } },
            text: () => Promise.resolve(body),
            json: () => Promise.resolve(JSON.parse(body) as unknown),
          });
        });
        incoming.on('error', reject);
      });
      outgoing.on('error', reject);
      outgoing.end();
    });

  it('answers 429 with the security headers, the request id and the limit\'s headers, and nothing after it runs', async () => {
    const answer = await send('/account', { headers: { accept: 'application/json' } });
    assert.equal(answer.status, 429);
    assert.deepEqual(recorded.reachedChain, [], 'no later middleware saw the request');
    for (const [name, value] of securityHeaderList({ hstsMaxAgeSeconds: 31_536_000, hstsPreload: false })) assert.equal(answer.headers.get(name), value, name);
    for (const [name, value] of refusal.headers) assert.equal(answer.headers.get(name), value, name);
    assert.equal(answer.headers.get('cache-control'), 'no-store');
    assert.equal(answer.headers.get('content-type'), 'application/json; charset=utf-8');
    const requestId = answer.headers.get('x-request-id');
    assert.match(String(requestId), /^[0-9a-f-]{36}$/);
    assert.deepEqual(await answer.json(), { error: { code: 'RATE_LIMITED', message: 'Too many requests. Wait a moment and try again.', requestId } });
    assert.deepEqual(recorded.accessLines, [{ requestId, status: 429, path: '/account' }], 'one access line, like every answer');
    assert.deepEqual(recorded.observed, [{ method: 'GET', route: 'unmatched', status: 429 }]);
    assert.deepEqual(recorded.counted, ['general']);
  });

  it('gives a browser the error page, and HEAD the headers without a body', async () => {
    const page = await send('/sign-in', { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    assert.equal(page.status, 429);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    const html = await page.text();
    assert.match(html, /Too many requests\. Wait a moment and try again\./);
    assert.ok(html.includes(String(page.headers.get('x-request-id'))));
    const head = await send('/sign-in', { method: 'HEAD' });
    assert.equal(head.status, 429);
    assert.equal(head.headers.get('retry-after'), '42');
    assert.equal(await head.text(), '');
    assert.deepEqual(recorded.reachedChain, []);
  });

  it('answers the API in JSON even to a browser', async () => {
    // The same Accept header just got a page: the API's answer still depends on its path.
    assert.equal((await send('/account', { headers: { accept: 'text/html' } })).headers.get('content-type'), 'text/html; charset=utf-8');
    const answer = await send('/api/v1/me', { headers: { accept: 'text/html' } });
    assert.equal(answer.status, 429);
    assert.equal(answer.headers.get('content-type'), 'application/json; charset=utf-8');
  });

  it('still gives a browser the page after the API was refused for the same Accept header', async () => {
    const accept = 'text/html;q=0.9, application/xhtml+xml';
    assert.equal((await send('/api/v1/sessions', { headers: { accept } })).headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal((await send('/account/sessions', { headers: { accept } })).headers.get('content-type'), 'text/html; charset=utf-8');
  });

  it('leaves alone what the chain answers before the limit, without counting it against the address', async () => {
    const cases: Array<[string, { method?: string; headers?: Record<string, string> }]> = [
      ['/healthz', {}],
      ['/READYZ', {}],
      ['/assets/style.css', {}],
      ['/Assets/style.css', {}],
      ['/%E0%A4%A', {}],
      ['/', { method: 'TRACE' }],
      // Plain HTTP through the proxy: the chain redirects it to HTTPS.
      ['/account', { headers: { 'x-forwarded-proto': 'http' } }],
    ];
    for (const [path, init] of cases) {
      const answer = await send(path, init);
      assert.equal(answer.status, 200, `${init.method ?? 'GET'} ${path} goes to the chain`);
    }
    assert.equal(recorded.reachedChain.length, cases.length);
    assert.deepEqual(recorded.asked, [], 'the limit was never asked, so nothing was counted');
    assert.deepEqual(recorded.accessLines, []);
  });

  it('lets every other address through, having asked about it once', async () => {
    offender = '192.0.2.1';
    const answer = await send('/account');
    assert.equal(answer.status, 200);
    assert.deepEqual(recorded.reachedChain, ['GET /account']);
    assert.deepEqual(recorded.asked, ['127.0.0.1']);
    assert.deepEqual(recorded.counted, []);
  });

  it('judges the address the trusted proxy reports, not the peer', async () => {
    offender = '203.0.113.9';
    const refused = await send('/account', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(refused.status, 429);
    const other = await send('/account', { headers: { 'x-forwarded-for': '203.0.113.10' } });
    assert.equal(other.status, 200);
  });

  it('leaves to the chain a request target that is not a plain path, and logs a plain one without its query', async () => {
    for (const target of ['https://127.0.0.1/account', '/account#fragment']) {
      const answer = await send(target);
      assert.equal(answer.status, 200, `${target} goes to the chain`);
    }
    assert.deepEqual(recorded.reachedChain, ['GET /account', 'GET /account']);
    assert.deepEqual(recorded.asked, []);
    const refused = await send('/account?token=secret');
    assert.equal(refused.status, 429);
    assert.deepEqual(
      recorded.accessLines.map((line) => line.path),
      ['/account'],
    );
  });

  it('believes X-Forwarded-For and X-Forwarded-Proto only from a trusted proxy', async () => {
    // A server trusting no proxy: a plain-HTTP client saying "https" and naming the offender's
    // address is neither secure nor that address, so the chain answers it (with its redirect).
    const untrusting = http.createServer((req, res) => {
      const refuse = createEarlyRefusal({
        knownRefusal: (address) => {
          recorded.asked.push(address);
          return refusal;
        },
        securityHeaders: [],
        renderErrorPage: () => 'refused',
        accessLog: () => undefined,
        trustProxy: proxyAddr.compile([]),
      });
      if (refuse(req, res)) return;
      recorded.reachedChain.push(`${req.method ?? ''} ${req.url ?? ''}`);
      res.end('the chain');
    });
    await new Promise<void>((resolve) => untrusting.listen(0, '127.0.0.1', resolve));
    try {
      const to = `http://127.0.0.1:${(untrusting.address() as AddressInfo).port}`;
      const answer = await send('/account', { to, headers: { 'x-forwarded-for': '203.0.113.9' } });
      assert.equal(answer.status, 200);
      assert.deepEqual(recorded.reachedChain, ['GET /account']);
      assert.deepEqual(recorded.asked, [], 'not secure, so the limit was not asked');
    } finally {
      await new Promise<void>((resolve) => {
        untrusting.close(() => {
          resolve();
        });
      });
    }
  });

  it('never takes the server down when the lane itself fails: the application answers instead', async () => {
    // Outside Express nothing catches a throw, and a throw in a request listener ends the process.
    const reported: string[] = [];
    const failing = (where: 'before' | 'after') =>
      createEarlyRefusal({
        knownRefusal: () => {
          if (where === 'before') throw new Error('store broke');
          return refusal;
        },
        securityHeaders: [],
        renderErrorPage: () => 'refused',
        accessLog: () => {
          if (where === 'after') throw new Error('log broke');
        },
        trustProxy: proxyAddr.compile('loopback'),
      });
    for (const where of ['before', 'after'] as const) {
      const listener = refusingBefore(
        (req, res) => {
          recorded.reachedChain.push(`${req.method ?? ''} ${req.url ?? ''}`);
          res.end('the chain');
        },
        failing(where),
        (error) => reported.push(String(error)),
      );
      const server = http.createServer(listener);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const answer = await send('/account', { to: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
        // Failing before answering: the chain answers. Failing after: the refusal already went out whole.
        assert.equal(answer.status, where === 'before' ? 200 : 429, where);
        assert.equal(await answer.text(), where === 'before' ? 'the chain' : JSON.stringify({ error: { code: 'RATE_LIMITED', message: 'Too many requests. Wait a moment and try again.', requestId: answer.headers.get('x-request-id') } }));
      } finally {
        await new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
        });
      }
    }
    assert.deepEqual(recorded.reachedChain, ['GET /account']);
    assert.deepEqual(reported, ['Error: store broke', 'Error: log broke']);
  });
});
