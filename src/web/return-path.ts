// src/web/return-path.ts
// "Return to where you were" without an open redirect: only a path on this site is ever followed.
// Anything else (another host, a scheme, //host, /\host, control characters that browsers strip
// into //host) falls back to the default.

import { z } from 'zod';

export const defaultReturnPath = '/account';

const maxReturnPathLength = 512;
/** A throwaway base: only its origin matters, to see whether a value tries to leave it. */
const base = new URL('https://return-path.invalid');
/** Pages a return path may not lead to: following them straight after signing in makes no sense. */
const refusedTargets = new Set(['/sign-in', '/sign-out', '/reauthenticate']);

/** The same-site path to send the user to, or `fallback` when `value` is not one. */
export function safeReturnPath(value: unknown, fallback: string = defaultReturnPath): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxReturnPathLength) return fallback;
  // One leading slash, then not a second one or a backslash (both make a host in browsers).
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return fallback;
  // Browsers drop tabs and newlines from URLs ("/\t/evil" becomes "//evil"), and treat "\" as "/".
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f\\\s]/.test(value)) return fallback;
  let parsed: URL;
  try {
    parsed = new URL(value, base);
  } catch {
    return fallback;
  }
  if (parsed.origin !== base.origin) return fallback;
  if (refusedTargets.has(parsed.pathname) || parsed.pathname.startsWith('/api/')) return fallback;
  return `${parsed.pathname}${parsed.search}`;
}

/** `?return=...` for a link, or nothing when the path is the default anyway. */
export function returnQuery(path: string): string {
  const safe = safeReturnPath(path);
  return safe === defaultReturnPath ? '' : `?${new URLSearchParams({ return: safe }).toString()}`;
}

/** The schema of a `return` field: any string is accepted and then made safe, never refused. */
export const returnPathField = z.string().max(2048).optional();
