// src/security/request-guards.ts
// Practices 7 and 10 at the door: refuse TRACE, undecodable addresses and unexpected body types
// before any route sees the request, each with the same generic error as everything else.

import type { RequestHandler } from 'express';
import { AppError } from '../errors/app-error.js';

/** TRACE and TRACK echo requests back (cross-site tracing); they are never served (ASVS 13.4.4). */
export const refuseTraceMethods: RequestHandler = (req, _res, next) => {
  if (req.method === 'TRACE' || req.method === 'TRACK') {
    next(new AppError('METHOD_NOT_ALLOWED', { headers: { Allow: 'GET, HEAD, POST, PUT, PATCH, DELETE' } }));
    return;
  }
  next();
};

/** A path that does not percent-decode is refused with 400 instead of falling through to 404. */
export const requireDecodablePath: RequestHandler = (req, _res, next) => {
  try {
    decodeURIComponent(req.path);
    next();
  } catch {
    next(new AppError('BAD_ENCODING'));
  }
};

/** Body types the application parses. Anything else with a body is refused with 415. */
export const defaultAcceptedBodyTypes = ['application/json', 'application/x-www-form-urlencoded'] as const;

/** True when the request announces a body (a length above zero, or a chunked one). */
export function hasBody(headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export function requireAcceptedBodyType(acceptedTypes: readonly string[] = defaultAcceptedBodyTypes): RequestHandler {
  const accepted = new Set(acceptedTypes);
  return (req, _res, next) => {
    if (!hasBody(req.headers)) {
      next();
      return;
    }
    const mediaType = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
    if (!accepted.has(mediaType)) {
      next(new AppError('UNSUPPORTED_MEDIA_TYPE'));
      return;
    }
    next();
  };
}
