// src/security/headers.ts
// Practice 4 (secure headers with Helmet). One definition of the response headers, used by the
// Express app, by the raw responses the HTTP parser sends, and by `portcullis check` as the bar.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import helmet from 'helmet';

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
  // Everything dynamic may be personal; static assets override this with their own caching.
  res.setHeader('Cache-Control', 'no-store');
  next();
};

/**
 * Runs the header middleware once against a stand-in response and returns what it set, so that
 * answers written outside Express (parser errors, the redirect listener) carry the same headers.
 */
export function collectSecurityHeaders(options: HeaderOptions): ReadonlyMap<string, string> {
  const headers = new Map<string, string>();
  const standIn = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : String(value));
      return this;
    },
    removeHeader(name: string) {
      headers.delete(name.toLowerCase());
    },
    getHeader(name: string) {
      return headers.get(name.toLowerCase());
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
  return headers;
}
