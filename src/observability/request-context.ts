// src/observability/request-context.ts
// A request id for every request (believed from X-Request-Id only when a trusted proxy sent it),
// a child logger carrying it, and one access-log line per request with no query string (tokens
// travel there) and no headers.

import { randomUUID } from 'node:crypto';
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

export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.headers['x-request-id'];
    req.id = typeof incoming === 'string' && acceptableRequestId.test(incoming) && isFromTrustedProxy(req) ? incoming : randomUUID();
    req.log = logger.child({ requestId: req.id });
    res.setHeader('X-Request-Id', req.id);
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      req.log.info(
        { method: req.method, path: req.path, status: res.statusCode, durationMs: Math.round(durationMs * 10) / 10, ip: req.ip },
        'request',
      );
    });
    next();
  };
}
