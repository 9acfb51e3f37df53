// src/security/https.ts
// Practice 9 (HTTPS only): the TLS settings of the listener, the plain-HTTP listener that only
// redirects, and the guard that sends any request that did not arrive over HTTPS to the public URL.

import { constants } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { RequestHandler } from 'express';

/**
 * TLS 1.2 suites: forward-secret AEAD only (no CBC, no RSA key exchange). TLS 1.3 suites are all
 * AEAD and OpenSSL prefers 1.3 whenever the client offers it.
 */
export const tls12Ciphers = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
] as const;

export const tls13Ciphersuites = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'] as const;

export const minimumTlsVersion = 'TLSv1.2';

export function hardenedTlsOptions(credentials: Pick<SecureContextOptions, 'cert' | 'key'>): TlsOptions {
  return {
    ...credentials,
    minVersion: minimumTlsVersion,
    ciphers: [...tls13Ciphersuites, ...tls12Ciphers].join(':'),
    honorCipherOrder: true,
    ecdhCurve: 'X25519:P-256:P-384',
    // No renegotiation (DoS and injection history) and no compression (CRIME).
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION | constants.SSL_OP_NO_COMPRESSION,
  };
}

/** The status a redirect to HTTPS uses: 301 for GET/HEAD, 308 elsewhere so the method and body survive. */
export function redirectStatus(method: string | undefined): 301 | 308 {
  return method === 'GET' || method === 'HEAD' ? 301 : 308;
}

/**
 * The target of a redirect: always PUBLIC_URL's origin, never the request's Host header (no open
 * redirect, no host-header injection), plus the request's path and query when they are plain.
 */
export function redirectLocation(publicOrigin: string, requestUrl: string | undefined): string {
  const url = requestUrl ?? '/';
  // Only an origin-relative path is kept; an absolute-form or malformed target becomes "/".
  if (!url.startsWith('/') || url.startsWith('//') || /[\s\\]/.test(url)) return `${publicOrigin}/`;
  return `${publicOrigin}${url}`;
}

/** The handler of the plain-HTTP listener: it redirects, and serves nothing else. */
export function createRedirectHandler(publicOrigin: string, headers: ReadonlyMap<string, string>) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    for (const [name, value] of headers) {
      // HSTS means nothing over plain HTTP (RFC 6797 §7.2); the rest applies.
      if (name !== 'strict-transport-security') res.setHeader(name, value);
    }
    res.statusCode = redirectStatus(req.method);
    res.setHeader('Location', redirectLocation(publicOrigin, req.url));
    res.setHeader('Content-Length', '0');
    res.setHeader('Connection', 'close');
    res.end();
  };
}

/**
 * Behind a TLS-terminating proxy, a request whose trusted X-Forwarded-Proto is not https is sent
 * to the public URL. With a direct TLS listener req.secure is always true and this never fires.
 */
export function requireSecureTransport(publicOrigin: string): RequestHandler {
  return (req, res, next) => {
    if (req.secure) {
      next();
      return;
    }
    res.status(redirectStatus(req.method)).setHeader('Location', redirectLocation(publicOrigin, req.originalUrl)).end();
  };
}

/** Protocol versions below `minimumTlsVersion`: the listener refuses them and `portcullis check` expects any site to. */
export const legacyTlsVersions = ['TLSv1', 'TLSv1.1'] as const satisfies readonly string[];

/** The redirect statuses the plain-HTTP listener answers with: permanent, and method-preserving for non-GET. */
export const acceptedRedirectStatuses: readonly number[] = Object.freeze([redirectStatus('GET'), redirectStatus('POST')]);
