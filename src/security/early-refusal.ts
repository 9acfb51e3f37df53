// src/security/early-refusal.ts
// Practice 5 (rate limiting) where it is cheapest: a client the general limit has already refused
// this window is answered 429 by the server's request listener before Express sees the request:
// before Express gives the request and answer its prototypes and runs its router, before metrics
// timing, the request context, body parsing, sessions or any route (issue 8: the 429 path is what
// an attacker floods; it cost 2.6 times a bare Express answer when it went through the chain, and
// Express's own dispatch was still a tenth of it when this lane was the chain's first middleware).
//
// The answer is the one the chain would give, header for header apart from the request id and
// the date (and a HEAD answer also names the body's type and length): the security headers,
// X-Request-Id, express-rate-limit's draft-8 headers and Retry-After, no-store, and the generic
// RATE_LIMITED body or error page. It is logged on the access log and counted in the metrics like
// every other answer. The client's address and scheme are read exactly as Express reads them
// (proxy-addr with the app's compiled trust proxy setting; X-Forwarded-Proto only from a trusted
// proxy). Every request this lane is not sure about goes on to the chain unchanged, where the same
// limit applies: TRACE (refused first), health checks and static assets (never limited), plain
// HTTP behind a proxy (redirected), undecodable paths (400) and request targets that are not a
// plain path. So the lane can only answer sooner, never differently.

import { Buffer } from 'node:buffer';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import proxyAddr from 'proxy-addr';
import { AppError } from '../errors/app-error.js';
import { errorBody, prefersHtml, type ErrorPageRenderer } from '../errors/handler.js';
import type { Metrics } from '../observability/metrics.js';
import { requestIdFor, type AccessLog } from '../observability/request-context.js';
import type { KnownRefusal } from './rate-limit.js';
import { hasBody } from './request-guards.js';

/** What an answer written outside Express needs to be the chain's answer: headers, page, log, metrics. */
export interface LaneAnswerOptions {
  /** The security headers every answer carries (headers.ts, securityHeaderList). */
  readonly securityHeaders: ReadonlyArray<readonly [string, string]>;
  readonly renderErrorPage: ErrorPageRenderer;
  readonly accessLog: AccessLog;
  /** Metrics, when the app has them: the duration histogram and the 429 counter by limiter. */
  readonly metrics?: Pick<Metrics, 'observeAnswer' | 'security'> | undefined;
  /** The app's compiled trust proxy setting (app.get('trust proxy fn')): who may name the client. */
  readonly trustProxy: TrustProxy;
}

export interface EarlyRefusalOptions extends LaneAnswerOptions {
  /** The general limit's remembered refusals (RateLimiters.knownRefusal). */
  readonly knownRefusal: (address: string) => KnownRefusal | undefined;
}

/** Express's compiled trust proxy setting: whether the hop-th address may be a trusted proxy. */
export type TrustProxy = (address: string, hop: number) => boolean;

/**
 * Answers a known offender's request and returns true; returns false, having touched nothing, for
 * every other request, which then goes to the application.
 */
export type EarlyRefusal = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Paths served before the general limit (web/routes/health.ts, web/static.ts), in any case. */
function isServedBeforeTheLimit(path: string): boolean {
  const lower = path.toLowerCase();
  return lower.startsWith('/assets') || lower.startsWith('/healthz') || lower.startsWith('/readyz');
}

const unusualTargetCharacters = /[\t\n\f\r #\u00a0\ufeff]/;

/**
 * The request's path as Express's req.path gives it, for a request target that is a plain path
 * ("/account?tab=1"); undefined for any other form ("*", an absolute URL), left to the chain.
 */
function plainPathOf(url: string | undefined): string | undefined {
  // parseurl, which Express uses, hands targets with these characters to url.parse: its path
  // could then differ from a simple cut at "?".
  if (url === undefined || !url.startsWith('/') || unusualTargetCharacters.test(url)) return undefined;
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** Express's req.secure: TLS on this socket, or X-Forwarded-Proto "https" from a trusted proxy. */
export function isSecure(req: IncomingMessage, trustProxy: TrustProxy): boolean {
  const socket = req.socket as Partial<TLSSocket>;
  const ownScheme = socket.encrypted === true ? 'https' : 'http';
  if (!trustProxy(socket.remoteAddress as string, 0)) return ownScheme === 'https';
  // Node joins a repeated X-Forwarded-Proto into one string, as it does every unknown header.
  const forwarded = req.headers['x-forwarded-proto'];
  const header = typeof forwarded === 'string' ? forwarded : ownScheme;
  const comma = header.indexOf(',');
  return (comma === -1 ? header : header.slice(0, comma)).trim() === 'https';
}

/**
 * Forwarding headers that will be ignored (a Forwarded header; X-Forwarded-For from a peer that is
 * not a trusted proxy) point at a misconfigured proxy: express-rate-limit reports them
 * (ERR_ERL_UNEXPECTED_X_FORWARDED_FOR, ERR_ERL_FORWARDED_HEADER), so such requests go to the chain.
 */
function namesAnUntrustedClient(req: IncomingMessage, trustProxy: TrustProxy): boolean {
  if (req.headers.forwarded !== undefined) return true;
  return req.headers['x-forwarded-for'] !== undefined && !trustProxy(req.socket.remoteAddress as string, 0);
}

/**
 * A conditional request: Express's res.send answers 304 to some of them (If-None-Match: * is
 * "fresh" to it even with no ETag), so the chain, not a lane, judges them.
 */
function isConditional(req: IncomingMessage): boolean {
  const headers = req.headers;
  return headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined;
}

/**
 * What every lane that answers a page before Express asks first (web/guest-lane.ts,
 * web/signed-in-lane.ts): the chain would serve this request as a page and nothing else. HTTPS
 * (or X-Forwarded-Proto from a trusted proxy; else the chain redirects), no body (the chain's
 * guards judge one), no forwarding header the chain would report, not conditional.
 */
function isPlainPageRequest(req: IncomingMessage, trustProxy: TrustProxy): boolean {
  return isSecure(req, trustProxy) && !hasBody(req.headers) && !namesAnUntrustedClient(req, trustProxy) && !isConditional(req);
}

/**
 * The page a lane answers for this request, when the chain would serve it as that page and nothing
 * else: GET or HEAD, the request target exactly one of the lane's paths (a query string, an
 * absolute URL or any other spelling goes to the chain), and a plain page request (above).
 */
export function plainPageTarget<Page>(req: IncomingMessage, pages: ReadonlyMap<string, Page>, trustProxy: TrustProxy): { readonly path: string; readonly page: Page } | undefined {
  if (req.method !== 'GET' && req.method !== 'HEAD') return undefined;
  const path = req.url;
  const page = path === undefined ? undefined : pages.get(path);
  if (path === undefined || page === undefined || !isPlainPageRequest(req, trustProxy)) return undefined;
  return { path, page };
}

/** True when the chain would refuse or redirect this request before the general limit counts it. */
function answeredBeforeTheLimit(req: IncomingMessage, path: string, trustProxy: TrustProxy): boolean {
  if (req.method === 'TRACE' || req.method === 'TRACK' || !isSecure(req, trustProxy)) return true;
  if (isServedBeforeTheLimit(path)) return true;
  if (!path.includes('%')) return false;
  try {
    decodeURIComponent(path);
    return false;
  } catch {
    return true;
  }
}

/** One answer written outside Express the way the chain writes it. */
export interface LaneAnswer {
  readonly status: number;
  readonly path: string;
  readonly ip: string;
  /** The metrics' route label: a route's template, or "unmatched". */
  readonly route: string;
  /** The general limit's RateLimit, RateLimit-Policy (and on a refusal Retry-After) headers. */
  readonly limitHeaders: ReadonlyArray<readonly [string, string]>;
  readonly contentType: string;
  /** The body, given the answer's request id (an error page shows it). */
  readonly body: (requestId: string) => string | Buffer;
  /** When the lane took the request (process.hrtime.bigint()), for the metrics and the access line. */
  readonly started: bigint;
}

/**
 * Writes an answer with the security headers, X-Request-Id, the limit's headers, its type and
 * length, then times it in the metrics and logs it on the access log, like every answer the chain
 * gives. Shared by this lane and the guest lane (web/guest-lane.ts).
 */
export type LaneWriter = (req: IncomingMessage, res: ServerResponse, answer: LaneAnswer) => void;

export function createLaneWriter({ securityHeaders, accessLog, metrics, trustProxy }: LaneAnswerOptions): LaneWriter {
  // The security headers flattened once; writeHead with a flat list is Node's cheapest path.
  const fixedHeaders = securityHeaders.flatMap(([name, value]) => [name, value]);
  return (req, res, { status, path, ip, route, limitHeaders, contentType, body, started }) => {
    const requestId = requestIdFor(req.headers, () => trustProxy(req.socket.remoteAddress as string, 0));
    const content = body(requestId);
    const headers = fixedHeaders.concat('X-Request-Id', requestId);
    for (const [name, value] of limitHeaders) headers.push(name, value);
    headers.push('Content-Type', contentType, 'Content-Length', String(Buffer.byteLength(content)));
    const method = req.method ?? 'GET';
    res.writeHead(status, headers);
    res.end(method === 'HEAD' ? undefined : content);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics?.observeAnswer(method, route, status, seconds);
    accessLog({ method, path, ip }, requestId, status, seconds * 1000);
  };
}

/**
 * Writes the general limit's 429 the way the chain would (see the top of this file), then logs and
 * counts it: `limitHeaders` are the limit's RateLimit, RateLimit-Policy and Retry-After.
 */
export type RefusalWriter = (req: IncomingMessage, res: ServerResponse, path: string, ip: string, limitHeaders: ReadonlyArray<readonly [string, string]>, limiter: string, started?: bigint) => void;

export function createRefusalWriter(options: LaneAnswerOptions): RefusalWriter {
  const { renderErrorPage, metrics } = options;
  const writeAnswer = createLaneWriter(options);
  const refusal = new AppError('RATE_LIMITED');
  // The JSON body is the same but for the request id: errorBody's text cut where the id goes.
  const marker = 'request-id-goes-here';
  const [jsonBefore = '', jsonAfter = ''] = JSON.stringify(errorBody(refusal, marker)).split(JSON.stringify(marker));
  // Page or JSON (errors/handler.ts, wantsHtml): the path decides for the API, the Accept header
  // for the rest. A flood repeats one Accept header, so its negotiation is kept per header value
  // (bounded: cleared when full).
  const prefersHtmlByAccept = new Map<string, boolean>();
  const wantsPage = (req: IncomingMessage, path: string): boolean => {
    if (path.startsWith('/api/')) return false;
    const accept = req.headers.accept ?? '';
    let prefers = prefersHtmlByAccept.get(accept);
    if (prefers === undefined) {
      prefers = prefersHtml(req);
      if (prefersHtmlByAccept.size >= 100) prefersHtmlByAccept.clear();
      prefersHtmlByAccept.set(accept, prefers);
    }
    return prefers;
  };
  return (req, res, path, ip, limitHeaders, limiter, started = process.hrtime.bigint()) => {
    const html = wantsPage(req, path);
    writeAnswer(req, res, {
      status: refusal.status,
      path,
      ip,
      route: 'unmatched',
      limitHeaders,
      contentType: html ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
      body: (requestId) => (html ? renderErrorPage(refusal, requestId) : jsonBefore + JSON.stringify(requestId) + jsonAfter),
      started,
    });
    metrics?.security.rateLimited(limiter);
  };
}

export function createEarlyRefusal(options: EarlyRefusalOptions): EarlyRefusal {
  const { knownRefusal, trustProxy } = options;
  const writeRefusal = createRefusalWriter(options);
  return function refuseKnownOffenders(req, res) {
    const path = plainPathOf(req.url);
    // Asked in this order because knownRefusal counts the hit, as the limit in the chain would.
    if (path === undefined || answeredBeforeTheLimit(req, path, trustProxy)) return false;
    const ip = proxyAddr(req, trustProxy) as string | undefined;
    // A socket already closed has no address; the chain deals with that as it always did.
    if (ip === undefined || ip === '') return false;
    const known = knownRefusal(ip);
    if (known === undefined) return false;
    writeRefusal(req, res, path, ip, known.headers, known.limiter);
    return true;
  };
}

/** Gives a request a lane took back to the application, or ends it when an answer has already started. */
export type HandOn = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * How the lanes that answer after a wait (web/guest-lane.ts, web/signed-in-lane.ts) give a request
 * back: to the application while nothing has been written, else the connection is cut (half an
 * answer cannot be finished by anyone). They call it from a promise, where a throw would be an
 * unhandled rejection: a throw is reported instead.
 */
export function handingOnTo(application: RequestListener, onError: (error: unknown) => void): HandOn {
  return (req, res) => {
    if (res.headersSent) {
      if (!res.writableEnded) res.destroy();
      return;
    }
    try {
      application(req, res);
    } catch (error) {
      onError(error);
    }
  };
}

/**
 * The server's request listener: the lanes before Express (the early refusal, the guest lane, the
 * signed-in lane),
 * then the application for every request they leave alone. Outside Express no error handler catches a throw, and a throw in a request listener
 * would end the process: so a failure of the lane is reported, and the request goes on to the
 * application (which applies the same limit) unless an answer was already started.
 */
export function refusingBefore(application: RequestListener, refuse: EarlyRefusal, onError: (error: unknown) => void): RequestListener {
  return (req, res) => {
    let answered: boolean;
    try {
      answered = refuse(req, res);
    } catch (error) {
      onError(error);
      if (res.headersSent) {
        if (!res.writableEnded) res.destroy();
        return;
      }
      answered = false;
    }
    if (!answered) application(req, res);
  };
}
