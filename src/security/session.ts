// src/security/session.ts
// Practice 3 (custom cookie names) and session hardening: a __Host- cookie with a name that reveals
// nothing, Secure, HttpOnly, SameSite=Lax, 256-bit ids, state kept on the server with idle and
// absolute limits enforced there (see storage/sessions).

import { randomBytes } from 'node:crypto';
import session from 'express-session';
import type { RequestHandler } from 'express';
import type { Config } from '../config/config.js';
import { deriveKey } from './keys.js';

declare module 'express-session' {
  interface SessionData {
    /** Set by the store on sessions loaded from it; never written back. */
    persisted?: true;
    /**
     * Set by the store on sessions loaded from it: when activity was last recorded (ms). Lets the
     * store skip recording activity again within its touch interval without asking the
     * database; never written back.
     */
    seenAt?: number;
    userId?: string;
    /** Where and with what the session was opened, for the user's sessions page. */
    client?: { ip: string; userAgent: string };
  }
}

/** The attributes every session cookie carries; `portcullis check` holds other sites to them too. */
export const sessionCookieAttributes = Object.freeze({
  secure: true,
  httpOnly: true,
  sameSite: 'lax' as const,
  path: '/',
});

export const sessionIdBytes = 32;

/** The key the session cookie is signed with (express-session's `secret`), derived from the master key. */
export function sessionCookieSecret(config: Pick<Config, 'masterKey'>): string {
  return deriveKey(config.masterKey, 'session-cookie').toString('base64');
}

export function createSessionMiddleware(config: Config, store: session.Store): RequestHandler {
  return session({
    name: config.session.cookieName,
    // Also read by the signed-in lane before Express (web/signed-in-lane.ts, security/session-cookie.ts).
    secret: sessionCookieSecret(config),
    store,
    genid: () => randomBytes(sessionIdBytes).toString('base64url'),
    // No cookie is set until there is something to keep, and unchanged sessions are not rewritten.
    resave: false,
    saveUninitialized: false,
    unset: 'destroy',
    // A browser-session cookie: the server decides when the session ends (idle and absolute limits).
    cookie: { ...sessionCookieAttributes },
  });
}

/** SameSite values `portcullis check` accepts on any site's cookies: ours (lax) or stricter. */
export const acceptedSameSiteValues: readonly string[] = Object.freeze([sessionCookieAttributes.sameSite, 'strict']);
