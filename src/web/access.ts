// src/web/access.ts
// Who is asking and what they may do. The user is read from the database on every request (never
// trusted from the session alone), so a disabled, deleted or demoted account loses its access at
// once. Pages answer a refusal with a redirect a person can follow; the API with an error code.

import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError } from '../errors/app-error.js';
import type { AccountOperations, PublicUser } from './accounts-port.js';
import { isFreshlyAuthenticated, requestMeta, setFlash, startAnonymousSession } from './session-state.js';
import { returnQuery } from './return-path.js';

declare module 'express-serve-static-core' {
  interface Locals {
    /** The signed-in user, fresh from the database; set by loadCurrentUser(). */
    user?: PublicUser;
  }
}

/** Reads the session's user; a session whose account is gone or disabled ends here. */
export function loadCurrentUser(accounts: Pick<AccountOperations, 'getUser'>): RequestHandler {
  return async function currentUser(req, res, next) {
    const userId = req.session.userId;
    if (userId === undefined) {
      next();
      return;
    }
    const user = await accounts.getUser(userId);
    if (user === undefined || user.disabled) {
      req.log.info({ userId, reason: user === undefined ? 'account-gone' : 'account-disabled' }, 'session ended: account no longer usable');
      await startAnonymousSession(req);
      next();
      return;
    }
    res.locals.user = user;
    next();
  };
}

export type Surface = 'page' | 'api';

export interface AccessOptions {
  /** Unverified accounts reach only the verification page and sign-out (configurable). */
  readonly requireVerifiedEmail: boolean;
  readonly accounts: Pick<AccountOperations, 'recordEvent'>;
}

export type AccessLevel =
  /** Signed in; unverified accounts allowed (verification page, sign-out, GET /me). */
  | 'signed-in'
  /** Signed in and, when the configuration requires it, verified. */
  | 'verified'
  /** Verified and re-authenticated within the last 10 minutes. */
  | 'fresh'
  /** Verified administrator. */
  | 'admin';

/** Where a refused page visitor is sent back to afterwards: the page itself for GET, else the account page. */
function comeBackTo(req: Request): string {
  return req.method === 'GET' ? req.originalUrl : '/account';
}

export function currentUser(res: Response): PublicUser {
  const user = res.locals.user;
  // Routes behind requireAccess() always have one; reaching here without is a wiring bug.
  if (user === undefined) throw new Error('currentUser() used on a route without requireAccess()');
  return user;
}

export function createAccessGuard(options: Readonly<AccessOptions>) {
  const { requireVerifiedEmail, accounts } = options;

  const denyAdmin = async (req: Request, user: PublicUser): Promise<void> => {
    req.log.warn({ userId: user.id, method: req.method, path: req.path }, 'authorization refused: administrators only');
    const meta = requestMeta(req);
    await accounts.recordEvent({
      type: 'authorization_denied',
      outcome: 'failure',
      actorId: user.id,
      subjectId: user.id,
      ip: meta.ip,
      userAgent: meta.userAgent,
      detail: { method: req.method, path: req.path.slice(0, 200) },
    });
  };

  /** The requirement as middleware for one surface. */
  return function requireAccess(level: AccessLevel, surface: Surface): RequestHandler {
    return async function access(req: Request, res: Response, next: NextFunction) {
      const user = res.locals.user;
      if (user === undefined) {
        if (surface === 'api') throw new AppError('UNAUTHENTICATED');
        res.redirect(303, `/sign-in${returnQuery(comeBackTo(req))}`);
        return;
      }
      if (level !== 'signed-in' && requireVerifiedEmail && !user.emailVerified) {
        if (surface === 'api') throw new AppError('EMAIL_NOT_VERIFIED');
        res.redirect(303, '/verify-email');
        return;
      }
      if (level === 'admin' && user.role !== 'admin') {
        await denyAdmin(req, user);
        throw new AppError('FORBIDDEN');
      }
      if (level === 'fresh' && !isFreshlyAuthenticated(req)) {
        if (surface === 'api') throw new AppError('REAUTHENTICATION_REQUIRED');
        setFlash(req, { kind: 'notice', message: 'For your security, confirm your password to continue.' });
        res.redirect(303, `/reauthenticate${returnQuery(comeBackTo(req))}`);
        return;
      }
      next();
    };
  };
}

export type RequireAccess = ReturnType<typeof createAccessGuard>;
