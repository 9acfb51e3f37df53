// src/server/client-errors.ts
// Requests so malformed that Node's HTTP parser rejects them never reach Express. They still get
// the generic error body and the security headers, not Node's bare "400 Bad Request".

import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { errorCatalogue, type ErrorCode } from '../errors/catalogue.js';
import type { Logger } from '../observability/logger.js';

function codeFor(parserCode: string | undefined): ErrorCode {
  switch (parserCode) {
    case 'HPE_HEADER_OVERFLOW':
      return 'HEADERS_TOO_LARGE';
    // Methods the parser does not know, TRACK among them.
    case 'HPE_INVALID_METHOD':
      return 'METHOD_NOT_ALLOWED';
    default:
      return 'BAD_REQUEST';
  }
}

export function createClientErrorHandler(headers: ReadonlyMap<string, string>, logger: Logger) {
  return (error: Error & { code?: string }, socket: Socket): void => {
    // A TLS-level failure (a refused renegotiation, a bad record) has no HTTP stream to answer on:
    // writing to it never completes, so the socket would linger until its timeout.
    if (error.code === 'ECONNRESET' || error.code?.startsWith('ERR_SSL') === true || !socket.writable) {
      socket.destroy();
      return;
    }
    const code = codeFor(error.code);
    // eslint-disable-next-line security/detect-object-injection -- code comes from codeFor(), a closed set
    const { status, message } = errorCatalogue[code];
    const requestId = randomUUID();
    logger.info({ requestId, parserError: error.code, status }, 'malformed request refused by the HTTP parser');
    const body = JSON.stringify({ error: { code, message, requestId } });
    const lines = [`HTTP/1.1 ${status} ${code === 'HEADERS_TOO_LARGE' ? 'Request Header Fields Too Large' : code === 'METHOD_NOT_ALLOWED' ? 'Method Not Allowed' : 'Bad Request'}`];
    for (const [name, value] of headers) lines.push(`${name}: ${value}`);
    lines.push('content-type: application/json; charset=utf-8', `content-length: ${Buffer.byteLength(body)}`, `x-request-id: ${requestId}`, 'connection: close');
    socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  };
}
