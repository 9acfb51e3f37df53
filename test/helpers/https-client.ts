// test/helpers/https-client.ts
// A small HTTPS client for tests: real TLS to the loopback server, trusting only its certificate,
// with full control of method, headers and raw path (fetch would normalise what we want to send).

import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';

export interface TestResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  json(): unknown;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string | string[]>;
  readonly body?: string | Buffer;
  /** The CA (the server's self-signed certificate) to trust; without it, plain http is used. */
  readonly ca?: string;
  readonly servername?: string;
}

export function request(baseUrl: string, path: string, options: RequestOptions = {}): Promise<TestResponse> {
  const url = new URL(baseUrl);
  const isHttps = url.protocol === 'https:';
  const transport = isHttps ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      {
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port,
        method: options.method ?? 'GET',
        path,
        headers: { ...(options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) }), ...options.headers },
        ...(isHttps ? { ca: options.ca, servername: options.servername ?? 'localhost', agent: false } : { agent: false }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) as unknown });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** Writes raw bytes over TLS and returns the raw answer (for requests no client library will send). */
export function rawTlsExchange(host: string, port: number, ca: string, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, ca, servername: 'localhost' }, () => {
      socket.write(payload);
    });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const finish = () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', reject);
    socket.setTimeout(10_000, () => {
      socket.destroy(new Error('raw exchange timed out'));
    });
  });
}
