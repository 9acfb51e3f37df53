// src/web/forms.ts
// HTML forms use the API's schemas and validation messages, but a refusal re-renders the form with
// each message beside its field instead of an error page, keeping what the person typed.

import type { z } from 'zod';
import { isAppError } from '../errors/app-error.js';
import { errorCatalogue } from '../errors/catalogue.js';
import { fieldErrors } from '../security/validation.js';
import type { FieldErrors } from './pages/components.js';

export type FormResult<T> = { readonly ok: true; readonly data: T } | { readonly ok: false; readonly refusal: FormRefusal };

export interface FormRefusal {
  readonly status: number;
  readonly message: string;
  readonly errors: FieldErrors;
}

/** Parses a form body with the same strict schema (and messages) validate() uses. */
export function parseForm<S extends z.ZodType>(schema: S, body: unknown): FormResult<z.infer<S>> {
  // An empty form arrives as no body at all; the schema then names every missing field.
  const result = schema.safeParse(body ?? {}, { reportInput: true });
  if (result.success) return { ok: true, data: result.data };
  return { ok: false, refusal: { status: 400, message: errorCatalogue.VALIDATION_FAILED.message, errors: fieldErrors(result.error, 'body') } };
}

/**
 * A refusal the person can act on (wrong password, rejected password, expired link), from an error
 * the domain threw. Anything else, including every 5xx, is rethrown to the central handler.
 */
export function refusalFrom(error: unknown): FormRefusal {
  if (isAppError(error) && error.status < 500) return { status: error.status, message: error.publicMessage, errors: error.fields ?? {} };
  throw error;
}

/**
 * One text field of the raw body, cut to `max` characters, for putting what was typed back into a
 * refused form (JSX escapes it). Never used as input to anything else.
 */
export function formString(body: unknown, name: string, max: number): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value: unknown = Reflect.get(body, name);
  return typeof value === 'string' ? value.slice(0, max) : undefined;
}
