// src/check/cookies.ts
// Practice 3 (custom cookie names) and the attributes that go with it, on every cookie any probed
// answer set: names that give the stack away (the server's own list, src/security/cookie-names.ts),
// and Secure, HttpOnly, SameSite and the __Host- prefix held to sessionCookieAttributes.

import { hostCookiePrefix, looksLikeSessionCookie, stackRevealedBy } from '../security/cookie-names.js';
import { acceptedSameSiteValues, sessionCookieAttributes } from '../security/session.js';
import type { UrlCheckContext, UrlCheckGroup } from './context.js';
import { fail, notChecked, pass, warn, type CheckDefinition, type Finding } from './finding.js';
import { parseSetCookie, setCookieHeaders, type SetCookie } from './set-cookie.js';

export const cookieChecks = {
  observed: { practice: 3, id: 'cookies', title: 'Cookies set by the site', severity: 'info' },
  name: { practice: 3, id: 'cookie-name-reveals-stack', title: 'Cookie names do not reveal the framework', severity: 'medium' },
  secure: { practice: 3, id: 'cookie-secure', title: 'Every cookie is Secure', severity: 'medium' },
  httpOnly: { practice: 3, id: 'cookie-httponly', title: 'Session cookies are HttpOnly', severity: 'high' },
  sameSite: { practice: 3, id: 'cookie-samesite', title: `Every cookie has SameSite=${acceptedSameSiteValues.map((value) => `${value.charAt(0).toUpperCase()}${value.slice(1)}`).join(' or ')}`, severity: 'medium' },
  hostPrefix: { practice: 3, id: 'cookie-host-prefix', title: `Session cookies use the ${hostCookiePrefix} prefix`, severity: 'low' },
} as const satisfies Record<string, CheckDefinition>;

interface SeenCookie {
  readonly cookie: SetCookie;
  readonly setBy: URL;
}

/** Every cookie set by any answer so far, once per name (the first time it was seen). */
export function collectCookies(context: UrlCheckContext): SeenCookie[] {
  const byName = new Map<string, SeenCookie>();
  for (const { url, exchange } of context.answers()) {
    for (const header of setCookieHeaders(exchange.headers)) {
      const cookie = parseSetCookie(header);
      if (cookie === undefined || cookie.deletes || byName.has(cookie.name)) continue;
      byName.set(cookie.name, { cookie, setBy: url });
    }
  }
  return [...byName.values()];
}

function list(cookies: readonly SeenCookie[]): string {
  return cookies.map(({ cookie }) => cookie.redacted).join(' | ');
}

export function cookieFindings(cookies: readonly SeenCookie[], answersSeen: number): Finding[] {
  if (cookies.length === 0) {
    return [notChecked(cookieChecks.observed, `none of the ${answersSeen} answers set a cookie; pages behind a sign-in form may (add them with more URL checks)`)];
  }
  const findings: Finding[] = [];
  const names = cookies.map(({ cookie }) => cookie.name).join(', ');

  const revealing = cookies.filter(({ cookie }) => stackRevealedBy(cookie.name) !== undefined);
  findings.push(
    revealing.length === 0
      ? pass(cookieChecks.name, `names: ${names}`)
      : fail(
          cookieChecks.name,
          revealing.map(({ cookie }) => `${cookie.name} (${stackRevealedBy(cookie.name) ?? ''})`).join(', '),
          `give the session cookie a name that says nothing about the stack, for example ${hostCookiePrefix}sid (express-session: the name option)`,
        ),
  );

  const sessionLike = cookies.filter(({ cookie }) => looksLikeSessionCookie(cookie.name));
  const insecure = cookies.filter(({ cookie }) => cookie.secure !== sessionCookieAttributes.secure);
  findings.push(
    insecure.length === 0
      ? pass(cookieChecks.secure, `all Secure: ${names}`)
      : fail(cookieChecks.secure, `without Secure: ${list(insecure)}`, 'set Secure on every cookie (express-session: cookie.secure true, behind a proxy with trust proxy set) so it never travels over plain HTTP', {
          severity: insecure.some(({ cookie }) => looksLikeSessionCookie(cookie.name)) ? 'high' : 'medium',
        }),
  );

  const readable = sessionLike.filter(({ cookie }) => cookie.httpOnly !== sessionCookieAttributes.httpOnly);
  findings.push(
    readable.length === 0
      ? pass(cookieChecks.httpOnly, sessionLike.length === 0 ? `no cookie looks like a session (${names})` : `HttpOnly: ${sessionLike.map(({ cookie }) => cookie.name).join(', ')}`)
      : fail(cookieChecks.httpOnly, `script-readable: ${list(readable)}`, 'set HttpOnly on session cookies so injected script cannot read them'),
  );

  const missingSameSite = cookies.filter(({ cookie }) => cookie.sameSite === undefined);
  const sameSiteNone = cookies.filter(({ cookie }) => cookie.sameSite === 'none');
  const sameSiteFix = `set SameSite=Lax (or Strict) on every cookie (express-session: cookie.sameSite '${sessionCookieAttributes.sameSite}')`;
  findings.push(
    missingSameSite.length > 0
      ? fail(cookieChecks.sameSite, `no recognised SameSite: ${list(missingSameSite)}`, sameSiteFix)
      : sameSiteNone.length > 0
        ? warn(cookieChecks.sameSite, `SameSite=None (sent on cross-site requests): ${list(sameSiteNone)}`, sameSiteFix)
        : pass(cookieChecks.sameSite, `SameSite set on: ${names}`),
  );

  const unprefixed = sessionLike.filter(({ cookie }) => !cookie.name.startsWith(hostCookiePrefix));
  findings.push(
    unprefixed.length === 0
      ? pass(cookieChecks.hostPrefix, sessionLike.length === 0 ? `no cookie looks like a session (${names})` : `prefixed: ${sessionLike.map(({ cookie }) => cookie.name).join(', ')}`)
      : fail(
          cookieChecks.hostPrefix,
          `without ${hostCookiePrefix}: ${unprefixed.map(({ cookie }) => cookie.name).join(', ')}`,
          `name session cookies ${hostCookiePrefix}<name> with Secure, Path=/ and no Domain, so no subdomain or plain-HTTP page can set or overwrite them`,
        ),
  );
  return findings;
}

export const cookiesGroup: UrlCheckGroup = {
  name: 'cookies',
  practice: 3,
  run(context) {
    return Promise.resolve(cookieFindings(collectCookies(context), context.answers().length));
  },
};
