// src/web/api/route.ts
// One API route as data: method, path, who may call it, its zod schemas and its answers. The
// router and the OpenAPI document are both built from the same list, so they cannot drift apart.

import type { Request, Response } from 'express';
import type { z } from 'zod';
import { validated, type RequestSchemas, type Validated } from '../../security/validation.js';
import type { AccessLevel } from '../access.js';

export type ApiMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ApiResponseSpec {
  readonly description: string;
  /** The JSON body; absent for 204 and for answers with no body. */
  readonly schema?: z.ZodType;
}

export interface ApiRoute {
  readonly method: ApiMethod;
  /** Express syntax, relative to /api/v1 (`/me/sessions/:id`). */
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  readonly access: AccessLevel | 'public';
  readonly schemas: RequestSchemas<z.ZodType, z.ZodType, z.ZodType>;
  readonly responses: Readonly<Record<number, ApiResponseSpec>>;
  /** Error codes this route answers with, besides the ones every route may (validation, CSRF...). */
  readonly errors?: readonly string[];
  readonly handle: (req: Request, res: Response) => Promise<void>;
}

export interface ApiRouteDefinition<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType> extends Omit<ApiRoute, 'handle' | 'schemas'> {
  readonly schemas: RequestSchemas<B, Q, P>;
  readonly handle: (input: Validated<z.infer<B>, z.infer<Q>, z.infer<P>>, req: Request, res: Response) => Promise<void>;
}

/** Defines a route with its input typed by its own schemas. */
export function apiRoute<B extends z.ZodType = z.ZodUndefined, Q extends z.ZodType = z.ZodObject, P extends z.ZodType = z.ZodObject>(definition: ApiRouteDefinition<B, Q, P>): ApiRoute {
  const { handle, schemas, ...rest } = definition;
  return {
    ...rest,
    schemas,
    handle: (req, res) => handle(validated(res, schemas), req, res),
  };
}
