// src/security/headers.ts
// Practice 4 (secure headers with Helmet). One definition of the response headers, used by the
// Express app, by the raw responses the HTTP parser sends, and by `portcullis check` as the bar.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import helmet from 'helmet';

/** Where browsers send CSP violation reports (web/routes/csp-reports.ts), and its Reporting API name. */
export const cspReportPath = '/csp-reports';
export const cspReportGroup = 'csp-endpoint';

/**
 * The Content-Security-Policy directives. `default-src 'none'` then only what the pages use:
 * scripts and styles from this origin (scripts with Subresource Integrity), no inline code.
 */
export const contentSecurityPolicyDirectives: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'"],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'manifest-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
  'object-src': ["'none'"],
  'upgrade-insecure-requests': [],
  // Violations are reported to this site (report-uri for older browsers, report-to for the Reporting API).
  'report-uri': [cspReportPath],
  'report-to': [cspReportGroup],
});

/** Browser features the app never uses are switched off; WebAuthn stays allowed for this origin. */
export const permissionsPolicy = [
  'accelerometer=()',
  'autoplay=()',
  'camera=()',
  'display-capture=()',
  'encrypted-media=()',
  'fullscreen=()',
  'geolocation=()',
  'gyroscope=()',
  'magnetometer=()',
  'microphone=()',
  'midi=()',
  'payment=()',
  'picture-in-picture=()',
  'publickey-credentials-create=(self)',
  'publickey-credentials-get=(self)',
  'screen-wake-lock=()',
  'serial=()',
  'usb=()',
  'xr-spatial-tracking=()',
  'interest-cohort=()',
  'browsing-topics=()',
].join(', ');

export interface HeaderOptions {
  readonly hstsMaxAgeSeconds: number;
  readonly hstsPreload: boolean;
}

/** The least HSTS max-age we accept here and in `portcullis check` (one year, ASVS 3.4.1). */
export const minimumHstsMaxAgeSeconds = 31_536_000;

export function createHelmet(options: HeaderOptions): RequestHandler {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: contentSecurityPolicyDirectives },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: false,
    originAgentCluster: true,
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: { maxAge: options.hstsMaxAgeSeconds, includeSubDomains: true, preload: options.hstsPreload },
    xContentTypeOptions: true,
    xDnsPrefetchControl: { allow: false },
    xDownloadOptions: true,
    xFrameOptions: { action: 'deny' },
    xPermittedCrossDomainPolicies: { permittedPolicies: 'none' },
    xPoweredBy: true,
    xXssProtection: true,
  }) as RequestHandler;
}

/** Adds what Helmet does not cover: Permissions-Policy and no-store caching for dynamic answers. */
export const extraSecurityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Permissions-Policy', permissionsPolicy);
  // The endpoint the CSP's report-to names; relative, so it is always this site's own.
  res.setHeader('Reporting-Endpoints', `${cspReportGroup}="${cspReportPath}"`);
  // Everything dynamic may be personal; static assets override this with their own caching.
  res.setHeader('Cache-Control', 'no-store');
  next();
};

/**
 * Runs the header middleware once against a stand-in response and returns what it set, names as
 * Helmet spells them, in the order it set them. Every header here is the same on every answer (the
 * CSP has no nonce: the pages have no inline code), so Helmet's answer can be computed once.
 */
export function securityHeaderList(options: HeaderOptions): ReadonlyArray<readonly [string, string]> {
  const headers = new Map<string, readonly [string, string]>();
  const standIn = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers.set(name.toLowerCase(), [name, Array.isArray(value) ? value.join(', ') : String(value)]);
      return this;
    },
    removeHeader(name: string) {
      headers.delete(name.toLowerCase());
    },
    getHeader(name: string) {
      return headers.get(name.toLowerCase())?.[1];
    },
  } as unknown as ServerResponse;
  const request = { headers: {}, method: 'GET' } as unknown as IncomingMessage;
  const run = (middleware: RequestHandler) => {
    let called = false;
    middleware(request as never, standIn as never, () => {
      called = true;
    });
    if (!(called as boolean)) throw new Error('security header middleware did not complete synchronously');
  };
  run(createHelmet(options));
  run(extraSecurityHeaders);
  return Object.freeze([...headers.values()]);
}

/**
 * The headers Helmet and extraSecurityHeaders set, by lower-case name, so that answers written
 * outside Express (parser errors, the redirect listener) carry the same headers.
 */
export function collectSecurityHeaders(options: HeaderOptions): ReadonlyMap<string, string> {
  return new Map(securityHeaderList(options).map(([name, value]) => [name.toLowerCase(), value]));
}

/**
 * The app's header middleware: Helmet's answer (with extraSecurityHeaders) computed once at start,
 * then set on every answer. Running Helmet's fourteen middlewares for each request gave the same
 * headers every time and cost a chain of calls and closures per request (issue 8's profile).
 * Routes may still override a header (static assets set their own Cache-Control).
 */
export function securityHeaders(options: HeaderOptions): RequestHandler {
  const headers = securityHeaderList(options);
  return function setSecurityHeaders(_req, res, next) {
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}

/** Referrer-Policy values that keep paths and queries from leaking to other sites (ASVS 3.4.5). */
export const acceptedReferrerPolicies: readonly string[] = Object.freeze(['no-referrer', 'same-origin', 'strict-origin', 'strict-origin-when-cross-origin']);

/**
 * CSP directives every policy must set (they do not fall back to default-src, or they guard what
 * default-src cannot): the ones this server sets in `contentSecurityPolicyDirectives`.
 */
export const requiredCspDirectives: readonly string[] = Object.freeze(['object-src', 'base-uri', 'frame-ancestors', 'form-action']);

/** Sources that undo what a CSP is for; this server's policy has none of them. */
export const unsafeCspSources: readonly string[] = Object.freeze(["'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", 'data:', '*', 'http:', 'https:']);

/** One response header as `portcullis check` judges it on any site: the bar the headers above meet. */
export interface HeaderExpectation {
  /** Lower-case header name. */
  readonly header: string;
  /** What is expected, in words, for reports. */
  readonly expected: string;
  /** True when the value (undefined: header absent) meets the bar. */
  accepts(value: string | undefined): boolean;
}

function hstsMeetsTheBar(value: string | undefined): boolean {
  if (value === undefined || value.includes(',')) return false;
  const parts = value.split(';').map((part) => part.trim().toLowerCase());
  const maxAge = parts.find((part) => part.startsWith('max-age='));
  const seconds = maxAge === undefined ? Number.NaN : Number(maxAge.slice('max-age='.length).replace(/^"|"$/g, ''));
  return Number.isInteger(seconds) && seconds >= minimumHstsMaxAgeSeconds && parts.includes('includesubdomains');
}

/** The last policy a browser understands wins (a comma list lets sites send fallbacks). */
function effectiveReferrerPolicy(value: string): string | undefined {
  const known = new Set(['no-referrer', 'no-referrer-when-downgrade', 'origin', 'origin-when-cross-origin', 'same-origin', 'strict-origin', 'strict-origin-when-cross-origin', 'unsafe-url']);
  return value
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => known.has(token))
    .at(-1);
}

/**
 * The headers `portcullis check` expects on any site, one rule per header. The server's own set
 * (createHelmet plus extraSecurityHeaders) meets every rule; test/check holds it to that.
 */
export const expectedHeaderRules: readonly HeaderExpectation[] = Object.freeze([
  {
    header: 'strict-transport-security',
    expected: `max-age of at least ${minimumHstsMaxAgeSeconds} seconds with includeSubDomains`,
    accepts: hstsMeetsTheBar,
  },
  {
    header: 'x-content-type-options',
    expected: 'nosniff',
    accepts: (value: string | undefined) => value?.trim().toLowerCase() === 'nosniff',
  },
  {
    header: 'referrer-policy',
    expected: acceptedReferrerPolicies.join(', '),
    accepts: (value: string | undefined) => {
      const policy = value === undefined ? undefined : effectiveReferrerPolicy(value);
      return policy !== undefined && acceptedReferrerPolicies.includes(policy);
    },
  },
  {
    header: 'cross-origin-opener-policy',
    expected: 'same-origin',
    accepts: (value: string | undefined) => value?.split(';')[0]?.trim().toLowerCase() === 'same-origin',
  },
  {
    header: 'cross-origin-resource-policy',
    expected: 'same-origin',
    accepts: (value: string | undefined) => value?.trim().toLowerCase() === 'same-origin',
  },
  {
    header: 'permissions-policy',
    expected: 'present, switching off the features the site does not use',
    accepts: (value: string | undefined) => value !== undefined && value.trim() !== '',
  },
  {
    header: 'x-powered-by',
    expected: 'absent',
    accepts: (value: string | undefined) => value === undefined,
  },
  {
    header: 'server',
    expected: 'absent, or a name without a version',
    accepts: (value: string | undefined) => value === undefined || !/\d/.test(value),
  },
]);
