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

export interface StateBackend {
  /** True while the store can be used (Redis connected). */
  isReady(): boolean;
}

export interface SessionGateOptions {
  /** express-session's middleware, built on `store`. */
  readonly session: RequestHandler;
  readonly store: session.Store;
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
      sessionMiddleware(req, res, next);
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
