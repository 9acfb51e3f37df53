// src/security/validation.ts
// Practice 10 (input validation): every route declares zod schemas for body, query and params.
// Unknown fields are refused, strings are trimmed and bounded, a repeated parameter where one value
// is expected is refused, and a 400 names the fields at fault without echoing what was sent.

import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { AppError } from '../errors/app-error.js';

/** Length in Unicode code points, the unit NIST counts passwords in (not UTF-16 units). */
export function codePointLength(value: string): number {
  let count = 0;
  for (let index = 0; index < value.length; index += 1) {
    // A high surrogate followed by a low one is a single code point.
    const unit = value.charCodeAt(index);
    if (unit >= 0xd800 && unit <= 0xdbff && index + 1 < value.length) {
      const next = value.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) index += 1;
    }
    count += 1;
  }
  return count;
}

/** A trimmed string of at most `max` characters (code points), at least `min` after trimming. */
export function text(max: number, min = 0) {
  return z
    .string()
    .trim()
    .refine((value) => codePointLength(value) <= max, { error: `Use at most ${max} characters.` })
    .refine((value) => codePointLength(value) >= min, { error: min <= 1 ? 'This field is required.' : `Use at least ${min} characters.` });
}

export interface RequestSchemas<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType> {
  readonly body?: B;
  readonly query?: Q;
  readonly params?: P;
}

export interface Validated<B, Q, P> {
  readonly body: B;
  readonly query: Q;
  readonly params: P;
}

declare module 'express-serve-static-core' {
  interface Locals {
    /** What validate() accepted; routes read input from here, never from req.body directly. */
    valid?: unknown;
  }
}

const safeFieldName = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** A message for one zod issue, written by us so nothing the client sent comes back. */
function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'This field is required.';
      return issue.expected === 'string' ? 'Send a single text value.' : `Send a value of type ${issue.expected}.`;
    case 'too_small':
      return issue.origin === 'string' ? `Use at least ${String(issue.minimum)} characters.` : 'This value is too small.';
    case 'too_big':
      return issue.origin === 'string' ? `Use at most ${String(issue.maximum)} characters.` : 'This value is too large.';
    case 'invalid_format':
      return issue.format === 'email' ? 'Enter a valid email address.' : 'This value is not in the expected format.';
    case 'invalid_value':
      return 'This value is not one of the accepted choices.';
    case 'custom':
      // Custom messages are ours (from refine), not the input's.
      return issue.message;
    default:
      return 'This value is not valid.';
  }
}

export function fieldErrors(error: z.ZodError, location: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        fields[safeFieldName.test(key) ? key : `${location}.(unnamed)`] = 'This field is not accepted here.';
      }
      continue;
    }
    const name = issue.path.map(String).join('.') || location;
    fields[safeFieldName.test(name) ? name : `${location}.(unnamed)`] ??= describeIssue(issue);
  }
  return fields;
}

/** True for no body, or a query or params object without a single key of its own. */
function isEmptyPart(input: unknown, location: 'query' | 'params' | 'body'): boolean {
  if (location === 'body') return input === undefined;
  return typeof input === 'object' && input !== null && Object.keys(input).length === 0;
}

/**
 * Validates the request against the schemas and stores the result in res.locals.valid.
 * A part without a schema must be empty: an unexpected query string or body is refused too.
 */
export function validate<B extends z.ZodType = z.ZodUndefined, Q extends z.ZodType = z.ZodObject, P extends z.ZodType = z.ZodObject>(
  schemas: RequestSchemas<B, Q, P>,
): RequestHandler {
  const emptyObject = z.strictObject({});
  // The third element: the part has no schema of its own, so it must be empty (see above).
  const parts = [
    ['query', schemas.query ?? emptyObject, schemas.query === undefined],
    ['params', schemas.params ?? z.record(z.string(), z.string()), schemas.params === undefined],
    ['body', schemas.body ?? z.union([z.undefined(), emptyObject]), schemas.body === undefined],
  ] as const;
  return (req: Request, res: Response, next: NextFunction) => {
    const fields: Record<string, string> = {};
    const valid: Record<string, unknown> = {};
    for (const [location, schema, mustBeEmpty] of parts) {
      // eslint-disable-next-line security/detect-object-injection -- location is one of three literals above
      const input: unknown = req[location];
      // An empty part where none is expected needs no parser: what zod would answer is known (an
      // empty object, or no body). Most GETs are this, and zod cost more than the check (issue 8).
      if (mustBeEmpty && isEmptyPart(input, location)) {
        // eslint-disable-next-line security/detect-object-injection -- location is one of three literals
        valid[location] = location === 'body' ? undefined : {};
        continue;
      }
      // reportInput lets describeIssue tell a missing field from a wrong one; the input is never sent back.
      const result = schema.safeParse(input, { reportInput: true });
      // eslint-disable-next-line security/detect-object-injection -- location is one of three literals
      if (result.success) valid[location] = result.data;
      else Object.assign(fields, fieldErrors(result.error, location));
    }
    if (Object.keys(fields).length > 0) {
      next(new AppError('VALIDATION_FAILED', { fields }));
      return;
    }
    res.locals.valid = valid;
    next();
  };
}

/** Reads what validate() accepted, typed by the same schemas. */
export function validated<B extends z.ZodType, Q extends z.ZodType = z.ZodObject, P extends z.ZodType = z.ZodObject>(
  res: Response,
  // Only its type is used: it ties the result to the schemas the route validated with.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  schemas: RequestSchemas<B, Q, P>,
): Validated<z.infer<B>, z.infer<Q>, z.infer<P>> {
  if (res.locals.valid === undefined) throw new Error('validated() called on a route without validate()');
  return res.locals.valid as Validated<z.infer<B>, z.infer<Q>, z.infer<P>>;
}
