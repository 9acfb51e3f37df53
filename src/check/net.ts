// src/check/net.ts
// The only way the URL checks touch the network: one bounded HTTP(S) exchange at a time and one
// TLS handshake at a time, over node:http, node:https and node:tls. Every call has a deadline and
// reads at most a fixed number of body bytes, so no probe can hang or fill memory.

import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls, { type PeerCertificate, type SecureVersion } from 'node:tls';

/** Error codes Node.js gives when a certificate does not verify (the Observatory's list, src/retriever/session.js). */
export const certificateErrorCodes: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'OUT_OF_MEM',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export interface Exchange {
  readonly url: string;
  readonly method: string;
  readonly status: number;
  /** Node's view: lower-case names, duplicates joined with ", ", set-cookie as an array. */
  readonly headers: IncomingHttpHeaders;
  /** The first `maxBodyBytes` of the body, as UTF-8. */
  readonly body: string;
  readonly truncated: boolean;
}

export interface RequestSpec {
  readonly url: URL;
  readonly method?: string;
  /** Sent as the request target instead of the URL's path and query (for deliberately malformed paths). */
  readonly rawPath?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** Verify the certificate chain and name (default false: probes still run against untrusted certificates). */
  readonly verify?: boolean;
  /** Extra trusted certificates (PEM), added to Node's bundled roots. */
  readonly extraCa?: readonly string[];
  readonly timeoutMs: number;
  readonly maxBodyBytes?: number;
  readonly agent?: http.Agent;
}

export class RequestFailed extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.name = 'RequestFailed';
    this.code = code;
  }
  get certificateError(): boolean {
    return this.code !== undefined && certificateErrorCodes.has(this.code);
  }
}

const defaultMaxBodyBytes = 256 * 1024;

/** Host as node:http wants it: IPv6 literals without their brackets. */
export function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

export function defaultPort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

const secureContexts = new Map<string, tls.SecureContext>();

/**
 * Node's bundled roots plus the extra certificates, built once: parsing some 150 roots for every
 * connection would cost tens of milliseconds each.
 */
function trustedContext(extraCa: readonly string[] | undefined): tls.SecureContext | undefined {
  if (extraCa === undefined || extraCa.length === 0) return undefined;
  const key = extraCa.join('\n');
  let context = secureContexts.get(key);
  if (context === undefined) {
    context = tls.createSecureContext({ ca: [...tls.rootCertificates, ...extraCa] });
    secureContexts.set(key, context);
  }
  return context;
}

/** One request, one answer. Redirects are not followed here (see retrieve.ts). */
export function send(spec: RequestSpec): Promise<Exchange> {
  const { url } = spec;
  const isHttps = url.protocol === 'https:';
  const method = spec.method ?? 'GET';
  const maxBodyBytes = spec.maxBodyBytes ?? defaultMaxBodyBytes;
  const body = spec.body;
  const headers: Record<string, string> = {
    'user-agent': 'portcullis-check',
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
    ...spec.headers,
  };
  const options: https.RequestOptions = {
    host: bareHost(url),
    port: defaultPort(url),
    method,
    path: spec.rawPath ?? `${url.pathname}${url.search}`,
    headers,
    agent: spec.agent ?? false,
    timeout: spec.timeoutMs,
  };
  if (isHttps) {
    options.rejectUnauthorized = spec.verify ?? false;
    const secureContext = trustedContext(spec.extraCa);
    if (secureContext !== undefined) (options as tls.ConnectionOptions).secureContext = secureContext;
  }
  return new Promise<Exchange>((resolve, reject) => {
    let settled = false;
    const finish = (error: RequestFailed | undefined, exchange?: Exchange) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (error !== undefined) reject(error);
      else if (exchange !== undefined) resolve(exchange);
    };
    const request = (isHttps ? https : http).request(options, (response) => {
      const chunks: Buffer[] = [];
      let received = 0;
      let truncated = false;
      const done = () => {
        finish(undefined, {
          url: url.href,
          method,
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          truncated,
        });
        // One request per connection: close it now rather than wait for the server (or TLS) to,
        // so no socket outlives the check. A caller's keep-alive agent keeps its sockets.
        if (spec.agent === undefined) request.destroy();
      };
      response.on('data', (chunk: Buffer) => {
        if (received >= maxBodyBytes) return;
        const room = maxBodyBytes - received;
        chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
        received += Math.min(chunk.length, room);
        if (received >= maxBodyBytes) {
          truncated = true;
          done();
          response.destroy();
        }
      });
      response.on('end', done);
      response.on('error', done);
      response.on('close', done);
    });
    // The socket timeout covers silence; this deadline covers a slow trickle too.
    const deadline = setTimeout(() => {
      request.destroy(new RequestFailed(`no complete answer within ${spec.timeoutMs} ms`, 'ETIMEDOUT'));
    }, spec.timeoutMs + 1_000);
    request.on('timeout', () => {
      request.destroy(new RequestFailed(`no answer within ${spec.timeoutMs} ms`, 'ETIMEDOUT'));
    });
    request.on('error', (error: Error & { code?: string }) => {
      finish(error instanceof RequestFailed ? error : new RequestFailed(error.message, error.code));
    });
    if (body !== undefined) request.write(body);
    request.end();
  });
}

export interface HandshakeSpec {
  readonly host: string;
  readonly port: number;
  /** SNI name; omitted for IP literals. */
  readonly servername?: string;
  readonly minVersion?: SecureVersion;
  readonly maxVersion?: SecureVersion;
  readonly ciphers?: string;
  readonly extraCa?: readonly string[];
  readonly timeoutMs: number;
}

export type HandshakeResult =
  | {
      readonly ok: true;
      readonly protocol: string;
      readonly cipher: string;
      readonly authorized: boolean;
      readonly authorizationError: string | undefined;
      readonly certificate: PeerCertificate | undefined;
    }
  | { readonly ok: false; readonly code: string | undefined; readonly message: string };

/** A bare TLS handshake (no HTTP): which protocol and cipher the server agrees to, and its certificate. */
export function handshake(spec: HandshakeSpec): Promise<HandshakeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: HandshakeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      socket.destroy();
      resolve(result);
    };
    // Handshakes that set their own versions or ciphers cannot share the cached context.
    const secureContext = spec.minVersion === undefined && spec.maxVersion === undefined && spec.ciphers === undefined ? trustedContext(spec.extraCa) : undefined;
    const socket = tls.connect({
      host: spec.host,
      port: spec.port,
      ...(spec.servername === undefined || net.isIP(spec.servername) !== 0 ? {} : { servername: spec.servername }),
      ...(spec.minVersion === undefined ? {} : { minVersion: spec.minVersion }),
      ...(spec.maxVersion === undefined ? {} : { maxVersion: spec.maxVersion }),
      ...(spec.ciphers === undefined ? {} : { ciphers: spec.ciphers }),
      ...(secureContext === undefined ? {} : { secureContext }),
      // Verification is judged from socket.authorized below, so a bad certificate still shows its details.
      rejectUnauthorized: false,
    });
    const deadline = setTimeout(() => {
      settle({ ok: false, code: 'ETIMEDOUT', message: `no handshake within ${spec.timeoutMs} ms` });
    }, spec.timeoutMs);
    socket.once('secureConnect', () => {
      const certificate = socket.getPeerCertificate(false);
      // Node.js puts an error code string here, though its types say Error.
      const authorizationError = socket.authorizationError as Error | string | null | undefined;
      settle({
        ok: true,
        protocol: socket.getProtocol() ?? 'unknown',
        cipher: socket.getCipher().name,
        authorized: socket.authorized,
        authorizationError:
          authorizationError === undefined || authorizationError === null
            ? undefined
            : typeof authorizationError === 'string'
              ? authorizationError
              : ((authorizationError as Error & { code?: string }).code ?? authorizationError.message),
        certificate: Object.keys(certificate).length === 0 ? undefined : certificate,
      });
    });
    socket.once('error', (error: Error & { code?: string }) => {
      settle({ ok: false, code: error.code, message: error.message });
    });
  });
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopbackAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === '::1') return true;
  const v4 = bare.startsWith('::ffff:') ? bare.slice('::ffff:'.length) : bare;
  return net.isIPv4(v4) && v4.startsWith('127.');
}
