// src/security/cookie-names.ts
// Practice 3 (custom cookie names): the session cookie names that give a server's stack away.
// The server refuses to use them and `portcullis check` reports them on other sites.

/** Lower-cased default session cookie names of common frameworks, with the stack each reveals. */
export const stackRevealingCookieNames: ReadonlyMap<string, string> = new Map([
  ['connect.sid', 'Express (express-session)'],
  ['sessionid', 'Django or a framework default'],
  ['jsessionid', 'Java servlet containers'],
  ['phpsessid', 'PHP'],
  ['asp.net_sessionid', 'ASP.NET'],
  ['aspsessionid', 'classic ASP'],
  ['.aspnetcore.session', 'ASP.NET Core'],
  ['laravel_session', 'Laravel'],
  ['express:sess', 'Express (cookie-session)'],
  ['koa.sess', 'Koa'],
  ['koa:sess', 'Koa'],
  ['ci_session', 'CodeIgniter'],
  ['_session_id', 'Ruby on Rails'],
  ['rack.session', 'Rack'],
  ['cfid', 'ColdFusion'],
  ['cftoken', 'ColdFusion'],
  ['symfony', 'Symfony'],
  ['play_session', 'Play Framework'],
  ['sails.sid', 'Sails'],
  ['nsess', 'Nuxt'],
  ['next-auth.session-token', 'NextAuth'],
  ['__session', 'Firebase hosting'],
]);

/** The prefix browsers enforce to be Secure, Path=/ and host-only (RFC 6265bis). */
export const hostCookiePrefix = '__Host-';

/** Returns the stack a cookie name reveals, or undefined when it reveals nothing we know of. */
export function stackRevealedBy(cookieName: string): string | undefined {
  const bare = cookieName.startsWith(hostCookiePrefix) ? cookieName.slice(hostCookiePrefix.length) : cookieName;
  const lower = bare.toLowerCase();
  for (const [name, stack] of stackRevealingCookieNames) {
    if (lower === name || lower.startsWith(`${name}.`)) return stack;
  }
  return undefined;
}

/**
 * Whether a cookie name looks like it carries a session or a credential, so that HttpOnly and the
 * __Host- prefix are expected of it. Anti-CSRF cookies are left out: some designs read them from script.
 */
export function looksLikeSessionCookie(cookieName: string): boolean {
  if (/csrf|xsrf/i.test(cookieName)) return false;
  return stackRevealedBy(cookieName) !== undefined || /sess|sid|auth|login|token|jwt/i.test(cookieName);
}
