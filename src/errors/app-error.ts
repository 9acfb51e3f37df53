// src/errors/app-error.ts
// The one error type the application throws on purpose. Anything else reaching the central
// handler is a programmer error and is answered as INTERNAL.

import { errorCatalogue, type ErrorCode } from './catalogue.js';

export interface AppErrorOptions {
  /** Per-field messages for VALIDATION_FAILED; written by us, never echoing the input. */
  readonly fields?: Readonly<Record<string, string>>;
  /** A message that replaces the catalogue's; must be as safe to show as the catalogue's. */
  readonly publicMessage?: string;
  /** Extra headers for the response (Allow, Retry-After...). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly publicMessage: string;
  readonly fields: Readonly<Record<string, string>> | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  /** Operational errors are expected (bad input, missing page); they are not bugs. */
  readonly isOperational = true;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    // eslint-disable-next-line security/detect-object-injection -- code is typed to the catalogue's keys
    const definition = errorCatalogue[code];
    // A refusal of the client's request (4xx) is expected and is never logged with a stack, so none
    // is captured: that was a tenth of the CPU of a 429 that an attacker floods (issue 8). Server
    // errors (5xx) keep theirs.
    const stackTraceLimit = Error.stackTraceLimit;
    if (definition.status < 500) Error.stackTraceLimit = 0;
    try {
      super(options.publicMessage ?? definition.message, { cause: options.cause });
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.name = 'AppError';
    this.code = code;
    this.status = definition.status;
    this.publicMessage = options.publicMessage ?? definition.message;
    this.fields = options.fields;
    this.headers = options.headers;
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}
