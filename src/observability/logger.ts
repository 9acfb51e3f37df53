// src/observability/logger.ts
// Structured JSON logs (safe from line injection) with secrets redacted wherever they appear.
// When tracing is on, every line written while a span is active carries its traceId and spanId,
// so a request's log lines and its trace find each other in whatever tool holds them.

import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Keys whose values never reach a log line, at any of the first four levels of nesting. */
const secretKeys = [
  'password',
  'currentPassword',
  'newPassword',
  'passwordHash',
  'token',
  'accessToken',
  'refreshToken',
  'secret',
  'recoveryCode',
  'cookie',
  'set-cookie',
  'authorization',
  'masterKey',
  'sessionId',
  'sid',
];

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const key of secretKeys) {
    const quoted = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
    const join = (prefix: string) => (quoted.startsWith('[') ? `${prefix}${quoted}` : `${prefix}.${quoted}`);
    paths.push(quoted.startsWith('[') ? quoted.slice(2, -2) : quoted);
    paths.push(join('*'), join('*.*'), join('*.*.*'));
  }
  return paths;
}

export interface LoggerOptions {
  readonly level: string;
  readonly pretty: boolean;
  /** Where lines go; defaults to stdout. Tests pass a stream to read them. */
  readonly destination?: DestinationStream;
}

/** The active span's ids (nothing when tracing is off: the API's no-op answers at once). */
function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const context = span.spanContext();
  return isSpanContextValid(context) ? { traceId: context.traceId, spanId: context.spanId } : {};
}

export function createLogger(options: LoggerOptions): Logger {
  const base = {
    mixin: traceFields,
    level: options.level,
    base: { service: 'portcullis' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactPaths(), censor: '[redacted]' },
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (options.destination !== undefined) return pino(base, options.destination);
  if (options.pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,service' } } });
  }
  return pino(base);
}
