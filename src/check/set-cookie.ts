// src/check/set-cookie.ts
// Set-Cookie headers read the way a browser (and the MDN Observatory's tough-cookie jar) reads them:
// attributes by name, SameSite only when its value is one browsers know, a jar that keeps the last
// cookie per name, domain and path, and drops __Host-/__Secure- cookies that break their prefix rules.

import { hostCookiePrefix } from '../security/cookie-names.js';

export interface SetCookie {
  readonly name: string;
  readonly value: string;
  readonly secure: boolean;
  readonly httpOnly: boolean;
  /** Recognised SameSite value, lower case; undefined when absent or not one of strict, lax, none. */
  readonly sameSite: 'strict' | 'lax' | 'none' | undefined;
  /** The SameSite attribute as written, when present. */
  readonly sameSiteRaw: string | undefined;
  readonly path: string | undefined;
  readonly domain: string | undefined;
  /** Max-Age=0 or an Expires in the past: a deletion, not a cookie. */
  readonly deletes: boolean;
  /** The header without the value (values may be secrets). */
  readonly redacted: string;
}

export function parseSetCookie(header: string): SetCookie | undefined {
  const [pair = '', ...attributes] = header.split(';');
  const equals = pair.indexOf('=');
  if (equals <= 0) return undefined;
  const name = pair.slice(0, equals).trim();
  const value = pair.slice(equals + 1).trim();
  if (name === '') return undefined;
  let secure = false;
  let httpOnly = false;
  let sameSite: SetCookie['sameSite'];
  let sameSiteRaw: string | undefined;
  let path: string | undefined;
  let domain: string | undefined;
  let deletes = false;
  for (const attribute of attributes) {
    const at = attribute.indexOf('=');
    const key = (at === -1 ? attribute : attribute.slice(0, at)).trim().toLowerCase();
    const attributeValue = at === -1 ? '' : attribute.slice(at + 1).trim();
    switch (key) {
      case 'secure':
        secure = true;
        break;
      case 'httponly':
        httpOnly = true;
        break;
      case 'samesite': {
        sameSiteRaw = attributeValue;
        const lower = attributeValue.toLowerCase();
        sameSite = lower === 'strict' || lower === 'lax' || lower === 'none' ? lower : undefined;
        break;
      }
      case 'path':
        path = attributeValue;
        break;
      case 'domain':
        domain = attributeValue.replace(/^\./, '').toLowerCase();
        break;
      case 'max-age':
        if (/^-?\d+$/.test(attributeValue) && Number(attributeValue) <= 0) deletes = true;
        break;
      case 'expires': {
        const when = Date.parse(attributeValue);
        if (!Number.isNaN(when) && when < Date.now()) deletes = true;
        break;
      }
      default:
        break;
    }
  }
  const redacted = [`${name}=…`, ...attributes.map((attribute) => attribute.trim()).filter((attribute) => attribute !== '')].join('; ');
  return { name, value, secure, httpOnly, sameSite, sameSiteRaw, path, domain, deletes, redacted };
}

/** The Set-Cookie headers of an answer, as an array whatever Node made of them. */
export function setCookieHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): string[] {
  const value = headers['set-cookie'];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** RFC 6265 §5.1.3 domain-match (no public-suffix list: a limit stated in the docs). */
function domainMatches(host: string, domain: string): boolean {
  return host === domain || (host.endsWith(`.${domain}`) && !/^[\d.]+$/.test(host));
}

function defaultPath(pathname: string): string {
  if (!pathname.startsWith('/')) return '/';
  const last = pathname.lastIndexOf('/');
  return last <= 0 ? '/' : pathname.slice(0, last);
}

export interface JarCookie extends SetCookie {
  /** The host the cookie belongs to (its Domain, or the host that set it). */
  readonly jarDomain: string;
  readonly jarPath: string;
  readonly hostOnly: boolean;
  /** Where it was set from. */
  readonly setBy: string;
}

/**
 * A cookie jar with tough-cookie's storing rules (the jar behind the Observatory's cookie test):
 * a Domain that does not match the host is refused, prefix rules are enforced silently, and a new
 * cookie replaces the one with the same name, domain and path.
 */
export class CookieJar {
  readonly #cookies = new Map<string, JarCookie>();

  store(header: string, requestUrl: URL): JarCookie | undefined {
    const parsed = parseSetCookie(header);
    if (parsed === undefined) return undefined;
    const host = requestUrl.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    if (parsed.domain !== undefined && parsed.domain !== '' && !domainMatches(host, parsed.domain)) return undefined;
    const domain = parsed.domain === undefined || parsed.domain === '' ? undefined : parsed.domain;
    const hostOnly = domain === undefined;
    const jarDomain = domain ?? host;
    const jarPath = parsed.path?.startsWith('/') === true ? parsed.path : defaultPath(requestUrl.pathname);
    if (parsed.name.startsWith('__Secure-') && !parsed.secure) return undefined;
    if (parsed.name.startsWith(hostCookiePrefix) && (!parsed.secure || !hostOnly || jarPath !== '/')) return undefined;
    const cookie: JarCookie = { ...parsed, jarDomain, jarPath, hostOnly, setBy: requestUrl.href };
    this.#cookies.set(`${jarDomain}\n${jarPath}\n${parsed.name}`, cookie);
    return cookie;
  }

  storeAll(headers: Readonly<Record<string, string | string[] | undefined>>, requestUrl: URL): void {
    for (const header of setCookieHeaders(headers)) this.store(header, requestUrl);
  }

  all(): JarCookie[] {
    return [...this.#cookies.values()];
  }

  /** The Cookie header a client would send to this URL (expired cookies and deletions left out). */
  cookieHeaderFor(url: URL): string | undefined {
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const pairs = this.all()
      .filter((cookie) => !cookie.deletes)
      .filter((cookie) => (cookie.hostOnly ? cookie.jarDomain === host : domainMatches(host, cookie.jarDomain)))
      .filter((cookie) => url.pathname === cookie.jarPath || url.pathname.startsWith(cookie.jarPath.endsWith('/') ? cookie.jarPath : `${cookie.jarPath}/`))
      .filter((cookie) => !cookie.secure || url.protocol === 'https:')
      .map((cookie) => `${cookie.name}=${cookie.value}`);
    return pairs.length === 0 ? undefined : pairs.join('; ');
  }
}
