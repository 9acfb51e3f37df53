// src/errors/handler.ts
// Practice 7 (minimal error details): the one place errors become responses. The client gets a
// stable code, a generic message and the request id; the detail goes to the log.

import type { IncomingMessage } from 'node:http';
import accepts from 'accepts';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { AppError, isAppError } from './app-error.js';
import type { ErrorCode } from './catalogue.js';
import { isDependencyUnavailable } from './unavailable.js';

/** body-parser and Express errors carry `type`/`status`; map the ones a client can cause. */
const parserErrorCodes: Readonly<Record<string, ErrorCode>> = {
  'entity.parse.failed': 'MALFORMED_JSON',
  'entity.too.large': 'BODY_TOO_LARGE',
  'parameters.too.many': 'BODY_TOO_LARGE',
  'encoding.unsupported': 'UNSUPPORTED_MEDIA_TYPE',
  'charset.unsupported': 'UNSUPPORTED_MEDIA_TYPE',
  'request.aborted': 'BAD_REQUEST',
  'request.size.invalid': 'BAD_REQUEST',
};

interface HttpErrorLike {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  expose?: unknown;
}

/** Turns anything thrown into an AppError; unknown errors become INTERNAL. */
export function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  // The database or Redis is away: a 503 the client may retry, not a bug (errors/unavailable.ts).
  if (isDependencyUnavailable(error)) return new AppError('SERVICE_UNAVAILABLE', { cause: error, headers: { 'Retry-After': '5' } });
  const candidate = (typeof error === 'object' && error !== null ? error : {}) as HttpErrorLike;
  const mapped = typeof candidate.type === 'string' ? parserErrorCodes[candidate.type] : undefined;
  if (mapped !== undefined) return new AppError(mapped, { cause: error });
  const status = Number(candidate.status ?? candidate.statusCode);
  // Express reports undecodable path parameters as a 400 it would expose; say it our way.
  if (status === 400 && candidate.expose === true) return new AppError('BAD_ENCODING', { cause: error });
  if (status === 413) return new AppError('BODY_TOO_LARGE', { cause: error });
  if (status === 415) return new AppError('UNSUPPORTED_MEDIA_TYPE', { cause: error });
  return new AppError('INTERNAL', { cause: error });
}

export interface ErrorBody {
  readonly error: { readonly code: ErrorCode; readonly message: string; readonly requestId: string; readonly fields?: Readonly<Record<string, string>> };
}

export function errorBody(error: AppError, requestId: string): ErrorBody {
  return { error: { code: error.code, message: error.publicMessage, requestId, ...(error.fields === undefined ? {} : { fields: error.fields }) } };
}

export type ErrorPageRenderer = (error: AppError, requestId: string) => string;

/**
 * True when the client's Accept header ranks HTML above JSON (browsers do); depends on nothing else.
 * Express's req.accepts() is this same library; called directly it also serves the early refusal,
 * which answers before Express has made the request its own (security/early-refusal.ts).
 */
export function prefersHtml(req: IncomingMessage): boolean {
  return accepts(req).type(['json', 'html']) === 'html';
}

/** A page for browsers, JSON for the API (whatever it asks for) and for everything else. */
export function wantsHtml(req: Request): boolean {
  return !req.path.startsWith('/api/') && prefersHtml(req);
}

export function sendError(req: Request, res: Response, error: AppError, renderPage: ErrorPageRenderer): void {
  res.status(error.status);
  for (const [name, value] of Object.entries(error.headers ?? {})) res.setHeader(name, value);
  res.setHeader('Cache-Control', 'no-store');
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  if (wantsHtml(req)) {
    res.type('html').send(renderPage(error, req.id));
    return;
  }
  res.json(errorBody(error, req.id));
}

export function createErrorHandler(renderPage: ErrorPageRenderer): ErrorRequestHandler {
  // Express recognises an error handler by its four parameters, so `_next` must stay.
  return (error: unknown, req, res, _next) => {
    const appError = toAppError(error);
    if (appError.code === 'INTERNAL') req.log.error({ err: error }, 'unhandled error while serving a request');
    else if (appError.code === 'SERVICE_UNAVAILABLE') req.log.warn({ code: appError.code, cause: appError.cause instanceof Error ? appError.cause.message : undefined }, 'request refused: a service it needs is unavailable');
    // A 429 is in the access line already (status 429 means RATE_LIMITED and nothing else) and
    // in the metrics under its limiter's name. A second, redacted line for it doubled the cost of
    // the path an attacker floods, and the volume of the log under attack (issue 8).
    else if (appError.code !== 'RATE_LIMITED') req.log.info({ code: appError.code, cause: appError.cause instanceof Error ? appError.cause.message : undefined }, 'request refused');
    if (res.headersSent) {
      // Too late for a clean answer: cut the connection rather than send a half-written one.
      res.destroy();
      return;
    }
    sendError(req, res, appError, renderPage);
  };
}

export const notFound: RequestHandler = (_req, _res, next) => {
  next(new AppError('NOT_FOUND'));
};
