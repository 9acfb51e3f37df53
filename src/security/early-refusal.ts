// src/security/early-refusal.ts
// Practice 5 (rate limiting) where it is cheapest: a client the general limit has already refused
// this window is answered 429 by the app's first middleware, before metrics timing, the request
// context, body parsing, sessions or any route (issue 8: the 429 path is what an attacker floods,
// and it cost 2.6 times a bare Express answer when it went through the chain).
//
// The answer is the one the chain would give, header for header apart from the request id and
// the date (and a HEAD answer also names the body's type and length): the security headers,
// X-Request-Id, express-rate-limit's draft-8 headers and Retry-After, no-store, and the generic
// RATE_LIMITED body or error page. It is logged on the access log and counted in the metrics like
// every other answer. Every request this lane is not sure about goes
// on to the chain unchanged, where the same limit applies: TRACE (refused first), health checks
// and static assets (never limited), plain HTTP behind a proxy (redirected) and undecodable paths
// (400). So the lane can only answer sooner, never differently.

import { Buffer } from 'node:buffer';
import type { Request, RequestHandler } from 'express';
import { AppError } from '../errors/app-error.js';
import { errorBody, prefersHtml, type ErrorPageRenderer } from '../errors/handler.js';
import type { Metrics } from '../observability/metrics.js';
import { requestIdFor, type AccessLog } from '../observability/request-context.js';
import type { KnownRefusal } from './rate-limit.js';

export interface EarlyRefusalOptions {
  /** The general limit's remembered refusals (RateLimiters.knownRefusal). */
  readonly knownRefusal: (address: string) => KnownRefusal | undefined;
  /** The security headers every answer carries (headers.ts, securityHeaderList). */
  readonly securityHeaders: ReadonlyArray<readonly [string, string]>;
  readonly renderErrorPage: ErrorPageRenderer;
  readonly accessLog: AccessLog;
  /** Metrics, when the app has them: the duration histogram and the 429 counter by limiter. */
  readonly metrics?: Pick<Metrics, 'observeAnswer' | 'security'> | undefined;
}

/** Paths served before the general limit (web/routes/health.ts, web/static.ts), in any case. */
function isServedBeforeTheLimit(path: string): boolean {
  const lower = path.toLowerCase();
  return lower.startsWith('/assets') || lower.startsWith('/healthz') || lower.startsWith('/readyz');
}

/** True when the chain would refuse or redirect this request before the general limit counts it. */
function answeredBeforeTheLimit(req: Request): boolean {
  if (req.method === 'TRACE' || req.method === 'TRACK' || !req.secure) return true;
  const path = req.path;
  if (isServedBeforeTheLimit(path)) return true;
  if (!path.includes('%')) return false;
  try {
    decodeURIComponent(path);
    return false;
  } catch {
    return true;
  }
}

export function createEarlyRefusal({ knownRefusal, securityHeaders, renderErrorPage, accessLog, metrics }: EarlyRefusalOptions): RequestHandler {
  const refusal = new AppError('RATE_LIMITED');
  // The security headers flattened once; writeHead with a flat list is Node's cheapest path.
  const fixedHeaders = securityHeaders.flatMap(([name, value]) => [name, value]);
  // The JSON body is the same but for the request id: errorBody's text cut where the id goes.
  const marker = 'request-id-goes-here';
  const [jsonBefore = '', jsonAfter = ''] = JSON.stringify(errorBody(refusal, marker)).split(JSON.stringify(marker));
  // Page or JSON (errors/handler.ts, wantsHtml): the path decides for the API, the Accept header
  // for the rest. A flood repeats one Accept header, so its negotiation is kept per header value
  // (bounded: cleared when full).
  const prefersHtmlByAccept = new Map<string, boolean>();
  const wantsPage = (req: Request): boolean => {
    if (req.path.startsWith('/api/')) return false;
    const accept = req.headers.accept ?? '';
    let prefers = prefersHtmlByAccept.get(accept);
    if (prefers === undefined) {
      prefers = prefersHtml(req);
      if (prefersHtmlByAccept.size >= 100) prefersHtmlByAccept.clear();
      prefersHtmlByAccept.set(accept, prefers);
    }
    return prefers;
  };
  return function refuseKnownOffenders(req, res, next) {
    // Asked in this order because knownRefusal counts the hit, as the limit in the chain would.
    const address = answeredBeforeTheLimit(req) ? undefined : req.ip;
    const known = address === undefined ? undefined : knownRefusal(address);
    if (known === undefined) {
      next();
      return;
    }
    const started = process.hrtime.bigint();
    const requestId = requestIdFor(req);
    const html = wantsPage(req);
    const body = html ? renderErrorPage(refusal, requestId) : jsonBefore + JSON.stringify(requestId) + jsonAfter;
    const headers = fixedHeaders.concat('X-Request-Id', requestId);
    for (const [name, value] of known.headers) headers.push(name, value);
    headers.push('Content-Type', html ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8', 'Content-Length', String(Buffer.byteLength(body)));
    res.writeHead(refusal.status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics?.observeAnswer(req.method, 'unmatched', refusal.status, seconds);
    metrics?.security.rateLimited(known.limiter);
    accessLog(req, requestId, refusal.status, seconds * 1000);
  };
}
