// src/errors/unavailable.ts
// Tells "a service we depend on is away" (the database or Redis down, restarting, out of
// connections) from a bug. The first is answered 503 SERVICE_UNAVAILABLE and the instance recovers
// by itself when the service returns; the second stays a 500 INTERNAL that someone must fix.

import { AppError } from './app-error.js';

/** Socket-level failures reaching PostgreSQL or Redis. */
const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

/**
 * PostgreSQL SQLSTATEs that mean "not now": connection exceptions (class 08), too many connections,
 * and the server shutting down, crashed or still starting (57P01-57P03). SQLite's busy database too.
 */
const unavailableSqlStates = /^(08\d{3}|53300|57P0[123])$/;

/** pg and pg-pool report these without a code. */
const unavailableMessages = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection closed|The client is closed|Socket closed unexpectedly)/i;

export function isDependencyUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 4 || typeof error !== 'object' || error === null) return false;
  if (error instanceof AppError) return error.code === 'SERVICE_UNAVAILABLE';
  const { code, message, cause, errors } = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string' && (networkCodes.has(code) || unavailableSqlStates.test(code) || code === 'SQLITE_BUSY')) return true;
  if (typeof message === 'string' && unavailableMessages.test(message)) return true;
  if (Array.isArray(errors) && errors.some((inner) => isDependencyUnavailable(inner, depth + 1))) return true;
  return cause !== undefined && isDependencyUnavailable(cause, depth + 1);
}

/** Awaits a storage call; an outage becomes SERVICE_UNAVAILABLE, anything else is rethrown as is. */
export async function unavailableOnFailure<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (!(error instanceof AppError) && isDependencyUnavailable(error)) throw new AppError('SERVICE_UNAVAILABLE', { cause: error });
    throw error;
  }
}
