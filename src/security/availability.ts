// src/security/availability.ts
// What happens while the shared session store (Redis) is away. Anything that needs a session —
// signing in or up, resetting a password, every account page, the API — fails closed with the
// generic 503 SERVICE_UNAVAILABLE at once (the connection does not queue commands, so nothing
// hangs). Public pages keep working without a session: the visitor is shown as signed out, no
// cookie is set or cleared, and the session is there again when Redis returns. The database's own
// outages are answered 503 by the central error handler (errors/unavailable.ts).

import type { RequestHandler } from 'express';
import type session from 'express-session';
import { AppError } from '../errors/app-error.js';
import { deferSession, mayHaveSessionCookie } from './deferred-session.js';

export interface StateBackend {
  /** True while the store can be used (Redis connected). */
  isReady(): boolean;
}

export interface SessionGateOptions {
  /** express-session's middleware, built on `store`. */
  readonly session: RequestHandler;
  readonly store: session.Store;
  /** The session cookie's name: a request without it gets its session only when it first needs one. */
  readonly cookieName: string;
  /** The shared store's connection; undefined when sessions are in the database. */
  readonly backend: StateBackend | undefined;
  /** GET/HEAD paths served without a session while the store is away. Default: the home page. */
  readonly publicPaths?: readonly string[];
}

export function createSessionGate(options: Readonly<SessionGateOptions>): RequestHandler {
  const { session: sessionMiddleware, backend } = options;
  const publicPaths = new Set(options.publicPaths ?? ['/']);
  // express-session adds generate() to its store: a new, empty, unsaved session on the request.
  const store = options.store as session.Store & { generate?: (req: Parameters<RequestHandler>[0]) => void };
  return function sessionGate(req, res, next) {
    if (backend === undefined || backend.isReady()) {
      const onLateError = (error: unknown) => {
        req.log.warn({ code: 'SESSION_STORE_WRITE_FAILED', cause: error instanceof Error ? error.message : 'unknown' }, 'the session could not be saved after the answer was sent');
      };
      // No session cookie: nothing to read, so no session is made until something needs one
      // (security/deferred-session.ts; most such requests are public pages that never do).
      if (!mayHaveSessionCookie(req, options.cookieName)) {
        deferSession(req, res, { start: sessionMiddleware, onLateError });
        next();
        return;
      }
      // express-session calls next once to go on, and again later if saving or destroying the
      // session fails after the answer has gone (an outage mid-request). That late error has no
      // one left to answer: it is logged here rather than printed by Express's last resort.
      let continued = false;
      sessionMiddleware(req, res, (error?: unknown) => {
        if (!continued) {
          continued = true;
          // The session could not be read: forget its id for this answer, or express-session
          // would delete the stored session when the answer ends (a flap would sign people out).
          if (error !== undefined && error !== null) Reflect.deleteProperty(req, 'sessionID');
          next(error);
          return;
        }
        if (error !== undefined && error !== null) onLateError(error);
      });
      return;
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && publicPaths.has(req.path) && typeof store.generate === 'function') {
      // Never saved (express-session's hooks are not installed) and never sent as a cookie.
      store.generate(req);
      req.log.debug({ code: 'SESSION_STORE_UNAVAILABLE' }, 'served a public page without a session');
      next();
      return;
    }
    next(new AppError('SERVICE_UNAVAILABLE', { headers: { 'Retry-After': '5' } }));
  };
}
