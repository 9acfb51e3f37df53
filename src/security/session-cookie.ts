// src/security/session-cookie.ts
// The session id in a request's Cookie header, read exactly as express-session reads it, for the
// one place that reads it without express-session: the signed-in lane before Express (issue 8,
// web/signed-in-lane.ts). A cookie this accepts and express-session refuses would let a forged
// cookie past the lane, so both the parser and the signature check are express-session's own:
//   - the `cookie` package at the version express-session resolves (package.json pins the same
//     range; test/security/session-cookie.test.ts feeds both the same hostile headers);
//   - cookie-signature's HMAC-SHA256 ("s:" + id + "." + base64 MAC without padding), compared
//     over the whole signed value (cookie-signature compares SHA-1 digests of both; here
//     timingSafeEqual does the same job).

import { createHmac, timingSafeEqual } from 'node:crypto';
import { parse } from 'cookie';

/** cookie-signature's sign(): the value, a dot, and the HMAC-SHA256 in base64 without padding. */
function signed(value: string, secret: string): string {
  return `${value}.${createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '')}`;
}

/** cookie-signature's unsign(): the value when the signature is the secret's, else undefined. */
function unsigned(input: string, secret: string): string | undefined {
  const dot = input.lastIndexOf('.');
  // cookie-signature slices up to lastIndexOf('.') even when it is -1 (dropping the last
  // character); no such input can match its own signature, so it is refused outright.
  if (dot === -1) return undefined;
  const value = input.slice(0, dot);
  const expected = Buffer.from(signed(value, secret));
  const given = Buffer.from(input);
  return expected.length === given.length && timingSafeEqual(expected, given) ? value : undefined;
}

/**
 * The session id the `cookieName` cookie carries when express-session would accept it: the first
 * cookie of that name, percent-decoded, "s:"-prefixed and signed with one of `secrets` (the
 * newest first, as express-session tries them). Undefined otherwise: no cookie, an empty or
 * unsigned value, or a signature that does not match (express-session then starts a new session).
 */
export function readSessionId(cookieHeader: string | undefined, cookieName: string, secrets: readonly string[]): string | undefined {
  if (cookieHeader === undefined || cookieHeader === '') return undefined;
  // The name is the configured cookie name (never the request's), and the parser returns a plain
  // object of own keys: reading one name of it is what express-session does too.
  // eslint-disable-next-line security/detect-object-injection -- cookieName comes from configuration
  const raw = parse(cookieHeader)[cookieName];
  if (raw === undefined || raw === '' || !raw.startsWith('s:')) return undefined;
  for (const secret of secrets) {
    const id = unsigned(raw.slice(2), secret);
    // An empty id is no id to express-session either (it starts a new session).
    if (id !== undefined) return id === '' ? undefined : id;
  }
  return undefined;
}
