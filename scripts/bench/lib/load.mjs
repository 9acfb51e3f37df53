// scripts/bench/lib/load.mjs: one measurement with autocannon. The load runs in the benchmark's own
// process, never in the server's: HTTPS with keep-alive over a fixed number of connections, a
// warm-up run first (connections set up, code paths compiled, caches filled), then a run bounded
// in time whose requests per second and latency are kept. Loopback only.

import autocannon from 'autocannon';
import { cpuSeconds } from './children.mjs';

/**
 * @typedef {object} LoadOptions
 * @property {string} url          the server's origin, https://127.0.0.1:PORT (loopback only)
 * @property {string} path
 * @property {string} [method]     GET by default
 * @property {Record<string,string>} [headers]
 * @property {string} [body]
 * @property {string[]} [bodies]   one body per connection, given out in turn (one account per
 *                                 connection in the sign-in flood); the connection keeps it
 * @property {string[]} [cookies]  Cookie header values used in turn, one a request (many sessions)
 * @property {number} connections
 * @property {number} durationSec
 * @property {number} warmupSec    0 for none
 * @property {number} [expectStatus] the status every answer should have; others are counted
 * @property {number} [maxRequests] stops the run after this many requests
 * @property {number} [pid]        the server's process: its CPU time per request is reported
 */

/** Only loopback is ever loaded (build-machine notes: load tests stay on 127.0.0.0/8 and ::1). */
export function assertLoopback(url) {
  const host = new URL(url).hostname;
  if (!/^127\.\d+\.\d+\.\d+$/.test(host) && host !== '[::1]' && host !== 'localhost') {
    throw new Error(`refusing to load ${host}: the benchmark only sends traffic to loopback`);
  }
}

function requestsFor(options) {
  const cookies = options.cookies;
  if (cookies === undefined || cookies.length === 0) return undefined;
  let next = 0;
  return [
    {
      method: options.method ?? 'GET',
      path: options.path,
      ...(options.body === undefined ? {} : { body: options.body }),
      setupRequest(request) {
        const cookie = cookies[next % cookies.length];
        next += 1;
        return { ...request, headers: { ...request.headers, cookie } };
      },
    },
  ];
}

function once(options, durationSec, maxRequests) {
  const requests = requestsFor(options);
  const bodies = options.bodies;
  let nextBody = 0;
  return autocannon({
    url: new URL(options.path, options.url).toString(),
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    ...(options.body === undefined ? {} : { body: options.body }),
    ...(requests === undefined ? {} : { requests }),
    // autocannon calls this once per connection, before its first request.
    ...(bodies === undefined || bodies.length === 0
      ? {}
      : {
          setupClient(client) {
            client.setBody(bodies[nextBody % bodies.length]);
            nextBody += 1;
          },
        }),
    connections: options.connections,
    pipelining: 1,
    duration: durationSec,
    ...(maxRequests === undefined ? {} : { amount: maxRequests }),
    timeout: 30,
    // The servers use a self-signed certificate; autocannon never verifies one (loopback only).
    servername: 'localhost',
  });
}

/** Runs the warm-up, then the measured run; returns its figures. */
export async function measure(options) {
  assertLoopback(options.url);
  if (options.warmupSec > 0) await once(options, options.warmupSec);
  const cpuBefore = options.pid === undefined ? undefined : cpuSeconds(options.pid);
  const result = await once(options, options.durationSec, options.maxRequests);
  const cpu = cpuBefore === undefined ? undefined : cpuSeconds(options.pid) - cpuBefore;
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats.count]));
  const expected = options.expectStatus === undefined ? undefined : (result.statusCodeStats?.[String(options.expectStatus)]?.count ?? 0);
  return {
    // autocannon's figure: the mean of the per-second request counts of the measured run.
    rps: result.requests.average,
    // The server's CPU time (all threads) per answered request, in microseconds.
    cpuMicros: cpu === undefined || result.requests.total === 0 ? undefined : (cpu * 1e6) / result.requests.total,
    total: result.requests.total,
    durationSec: result.duration,
    latency: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: result.latency.average },
    statuses,
    unexpected: expected === undefined ? 0 : result.requests.total - expected,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}
