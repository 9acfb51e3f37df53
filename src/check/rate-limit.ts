// src/check/rate-limit.ts
// Practice 5 (rate limiting). Only on request (--probe-rate-limit) and only against this machine or
// a site the operator says is theirs (--i-own-this-site): a bounded burst of at most 200 GETs, four
// at a time, for at most 30 seconds, that stops at the first 429, reading RateLimit headers (IETF
// draft) and Retry-After.
// Without the probe, RateLimit headers on the first answer are reported when a site sends them.

import http from 'node:http';
import https from 'node:https';
import { headerValue, type UrlCheckContext, type UrlCheckGroup } from './context.js';
import { fail, notChecked, pass, type CheckDefinition, type Finding } from './finding.js';

export const rateLimitCheck = { practice: 5, id: 'rate-limit', title: 'Requests are rate limited (429 with RateLimit headers)', severity: 'medium' } as const satisfies CheckDefinition;

/** The most requests the burst ever sends. */
export const maxBurstRequests = 200;
/** The longest the burst runs, however slowly the site answers. */
export const maxBurstMs = 30_000;
const burstConcurrency = 4;

const rateLimitHeaderNames = ['ratelimit', 'ratelimit-policy', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'retry-after'];

function advertised(headers: Readonly<Record<string, string | string[] | undefined>>): string[] {
  return rateLimitHeaderNames.flatMap((name) => {
    const value = headerValue(headers, name);
    return value === undefined ? [] : [`${name}: ${value}`];
  });
}

async function burst(context: UrlCheckContext): Promise<Finding> {
  const isHttps = context.baseUrl.protocol === 'https:';
  const agent = isHttps ? new https.Agent({ keepAlive: true, maxSockets: burstConcurrency }) : new http.Agent({ keepAlive: true, maxSockets: burstConcurrency });
  const started = Date.now();
  // Shared by the workers; an object so that each await re-reads what the others changed.
  const state: { sent: number; failures: number; limitedAt: number | undefined; limitedHeaders: string[] } = { sent: 0, failures: 0, limitedAt: undefined, limitedHeaders: [] };
  const seenHeaders = new Set<string>();
  const limited = () => state.limitedAt !== undefined;
  const worker = async () => {
    while (!limited() && state.sent < maxBurstRequests && Date.now() - started < maxBurstMs) {
      state.sent += 1;
      const number = state.sent;
      const answer = await context.probe({ path: context.baseUrl.pathname, agent, maxBodyBytes: 4096 });
      if (answer.exchange === undefined) {
        state.failures += 1;
        continue;
      }
      for (const header of advertised(answer.exchange.headers)) seenHeaders.add(header.slice(0, header.indexOf(':')));
      if (answer.exchange.status === 429 && !limited()) {
        state.limitedAt = number;
        state.limitedHeaders = advertised(answer.exchange.headers);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: burstConcurrency }, worker));
  } finally {
    agent.destroy();
  }
  const elapsed = Date.now() - started;
  const { sent, failures, limitedAt, limitedHeaders } = state;
  if (limitedAt !== undefined) {
    return pass(rateLimitCheck, `429 after ${limitedAt} requests in ${elapsed} ms${limitedHeaders.length === 0 ? ' (no RateLimit or Retry-After headers)' : `: ${limitedHeaders.join(', ')}`}`);
  }
  if (failures === sent) return notChecked(rateLimitCheck, `none of the ${sent} burst requests got an answer`);
  if (sent < maxBurstRequests) return notChecked(rateLimitCheck, `the burst stopped after ${maxBurstMs / 1000} s and ${sent} requests without a 429: the site answers too slowly to tell`);
  if (seenHeaders.size > 0) {
    return pass(rateLimitCheck, `no 429 within ${sent} requests in ${elapsed} ms, but a limit is advertised (${[...seenHeaders].join(', ')}): it is higher than the burst`);
  }
  return fail(
    rateLimitCheck,
    `${sent} requests in ${elapsed} ms${failures > 0 ? ` (${failures} unanswered)` : ''}: none refused with 429, no RateLimit headers`,
    'limit requests per client (express-rate-limit, or at the proxy: nginx limit_req), answer 429 with Retry-After, and limit sign-in attempts per account more tightly',
  );
}

export const rateLimitGroup: UrlCheckGroup = {
  name: 'rate-limit',
  practice: 5,
  async run(context) {
    if (!context.options.probeRateLimit) {
      const headers = advertised(context.base.headers);
      if (headers.length > 0) return [pass(rateLimitCheck, `advertised on the first answer (not probed): ${headers.join(', ')}`)];
      return [notChecked(rateLimitCheck, 'not probed: a burst of requests is only sent with --probe-rate-limit', 'run again with --probe-rate-limit against a loopback server or a site you own (--i-own-this-site)')];
    }
    if (!context.target.loopback && !context.options.iOwnThisSite) {
      return [
        notChecked(
          rateLimitCheck,
          `not probed: ${context.target.url.hostname} is not this machine (${context.target.addresses.join(', ')}) and --i-own-this-site was not given`,
          'add --i-own-this-site only for a site you operate',
        ),
      ];
    }
    return [await burst(context)];
  },
};
