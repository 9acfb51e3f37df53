// src/observability/request-context.ts
// A request id for every request (believed from X-Request-Id only when a trusted proxy sent it),
// a child logger carrying it, and one access-log line per request with no query string (tokens
// travel there) and no headers.

import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Request, RequestHandler } from 'express';
import type { Logger } from './logger.js';

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
    log: Logger;
  }
}

const acceptableRequestId = /^[A-Za-z0-9._:-]{8,128}$/;

/** True when the immediate peer is one of the trusted proxies configured with trust proxy. */
export function isFromTrustedProxy(req: Request): boolean {
  const trust = req.app.get('trust proxy fn') as ((address: string, hop: number) => boolean) | undefined;
  const peer = req.socket.remoteAddress;
  return trust !== undefined && peer !== undefined && trust(peer, 0);
}

/**
 * The request's id: the trusted proxy's X-Request-Id when it sent a sensible one, else a new UUID.
 * Whether the peer is that proxy is asked only when there is an id to believe.
 */
export function requestIdFor(headers: IncomingHttpHeaders, fromTrustedProxy: () => boolean): string {
  const incoming = headers['x-request-id'];
  return typeof incoming === 'string' && acceptableRequestId.test(incoming) && fromTrustedProxy() ? incoming : randomUUID();
}

/** What an access line says of its request (an Express request has all of it). */
export interface AccessLineRequest {
  readonly method: string;
  /** The path without the query string: tokens travel there. */
  readonly path: string;
  readonly ip: string | undefined;
}

/** Writes one request's access line. */
export type AccessLog = (req: AccessLineRequest, requestId: string, status: number, durationMs: number) => void;

/**
 * The access line's writer. Logging was the largest cost of a cheap request (issue 8's profile):
 * redaction walks every redact path, wildcards included, for each line (about 60 µs). The access
 * line's fields are fixed and never a secret (method, path without the query string, status,
 * duration, address), so it is written by a logger without redaction.
 */
export function accessLogOf(logger: Logger): AccessLog {
  const accessLog = logger.child({}, { redact: { paths: [] } });
  return (req, requestId, status, durationMs) => {
    accessLog.info({ requestId, method: req.method, path: req.path, status, durationMs: Math.round(durationMs * 10) / 10, ip: req.ip }, 'request');
  };
}

export function requestContext(logger: Logger): RequestHandler {
  // A request's own child logger costs about 15 µs to make, so it is only made when something
  // logs through it. Lines logged through req.log are redacted.
  const writeAccessLine = accessLogOf(logger);
  return (req, res, next) => {
    const requestId = requestIdFor(req.headers, () => isFromTrustedProxy(req));
    req.id = requestId;
    let child: Logger | undefined;
    Object.defineProperty(req, 'log', {
      configurable: true,
      enumerable: true,
      get: () => (child ??= logger.child({ requestId })),
      set: (value: Logger) => {
        child = value;
      },
    });
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      writeAccessLine(req, requestId, res.statusCode, Number(process.hrtime.bigint() - started) / 1e6);
    });
    next();
  };
}
