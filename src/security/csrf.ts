// src/security/csrf.ts
// Practice: cross-site request forgery. Every POST/PUT/PATCH/DELETE passes one of two rules, chosen
// by where it goes: HTML forms carry a synchronizer token bound to the session; the JSON API needs
// Content-Type: application/json and proof of same origin (Origin or Sec-Fetch-Site).

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { AppError } from '../errors/app-error.js';

declare module 'express-session' {
  interface SessionData {
    /** The synchronizer token every form of this session carries (256 random bits). */
    csrfToken?: string;
  }
}

/** The form field that carries the token; removed from the body once checked. */
export const csrfFieldName = '_csrf';

export const csrfTokenBytes = 32;

/** GET and HEAD never change state (and OPTIONS only describes), so they need no proof. */
const safeMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The session's token, created on first use. Creating it is what turns an anonymous visitor's
 * session into one worth storing, so only pages that render a form should ask for it.
 */
export function csrfToken(req: Request): string {
  req.session.csrfToken ??= randomBytes(csrfTokenBytes).toString('base64url');
  return req.session.csrfToken;
}

/** Constant-time comparison; only a length mismatch returns early, and the length is public. */
export function csrfTokensMatch(expected: string | undefined, given: unknown): boolean {
  if (expected === undefined || typeof given !== 'string') return false;
  const left = Buffer.from(expected, 'utf8');
  const right = Buffer.from(given, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Why a request was refused; logged and audited, never shown. */
export type CsrfRejection = 'content-type' | 'foreign-origin' | 'cross-site-fetch' | 'no-origin' | 'missing-token' | 'token-mismatch';

export interface CsrfOptions {
  /** scheme://host[:port] the site is served at, exactly as browsers send it in Origin. */
  readonly publicOrigin: string;
  /** Requests under this prefix follow the JSON API rule, all others the form rule. Default `/api/`. */
  readonly apiPrefix?: string;
  /** Told of every refusal (for the audit trail). Its failures are logged, never raised. */
  readonly onRejected?: (req: Request, reason: CsrfRejection) => Promise<void>;
}

function mediaType(req: Request): string {
  return (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * The JSON API rule (hono's): a browser always sends Origin on a cross-origin fetch and
 * Sec-Fetch-Site on every request, so a request that proves neither is not trusted. The JSON
 * content type cannot be sent cross-site without a CORS preflight, which this server never grants.
 */
function checkJsonRequest(req: Request, publicOrigin: string): CsrfRejection | undefined {
  if (mediaType(req) !== 'application/json') return 'content-type';
  const origin = single(req.headers.origin);
  const site = single(req.headers['sec-fetch-site']);
  if (origin !== undefined && origin !== publicOrigin) return 'foreign-origin';
  if (site !== undefined && site !== 'same-origin') return 'cross-site-fetch';
  if (origin === undefined && site === undefined) return 'no-origin';
  return undefined;
}

/**
 * The form rule: the session's token must come back in the body. Browsers send `Origin: null` on
 * form posts under our no-referrer policy, so Origin cannot be required here; a foreign one, or a
 * Sec-Fetch-Site that says another site sent the form, is still refused before the token is read.
 */
function checkFormRequest(req: Request, publicOrigin: string): CsrfRejection | undefined {
  const origin = single(req.headers.origin);
  const site = single(req.headers['sec-fetch-site']);
  if (origin !== undefined && origin !== 'null' && origin !== publicOrigin) return 'foreign-origin';
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return 'cross-site-fetch';
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null) return 'missing-token';
  const given: unknown = Reflect.get(body, csrfFieldName);
  if (given === undefined) return 'missing-token';
  if (!csrfTokensMatch(req.session.csrfToken, given)) return 'token-mismatch';
  // Routes validate bodies with strict schemas: the token has done its job and must not reach them.
  Reflect.deleteProperty(body, csrfFieldName);
  return undefined;
}

export function createCsrfProtection(options: Readonly<CsrfOptions>): RequestHandler {
  const { publicOrigin, apiPrefix = '/api/', onRejected } = options;
  // A typo here would silently refuse every API call, or worse accept a wrong origin: fail at start.
  if (new URL(publicOrigin).origin !== publicOrigin) throw new Error(`csrf: publicOrigin must be an origin (scheme://host[:port]), got ${publicOrigin}`);
  if (!apiPrefix.startsWith('/') || !apiPrefix.endsWith('/')) throw new Error('csrf: apiPrefix must start and end with "/"');

  return function csrfProtection(req, _res, next) {
    if (safeMethods.has(req.method)) {
      next();
      return;
    }
    const reason = req.path.startsWith(apiPrefix) ? checkJsonRequest(req, publicOrigin) : checkFormRequest(req, publicOrigin);
    if (reason === undefined) {
      next();
      return;
    }
    req.log.warn({ csrf: reason, method: req.method, path: req.path, ip: req.ip }, 'cross-site request refused');
    onRejected?.(req, reason).catch((error: unknown) => {
      req.log.error({ err: error }, 'recording a refused cross-site request failed');
    });
    next(new AppError('CSRF_REJECTED'));
  };
}
