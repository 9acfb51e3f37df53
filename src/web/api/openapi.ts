// src/web/api/openapi.ts
// GET /api/v1/openapi.json: an OpenAPI 3.1 document generated from the route table and its zod
// schemas (z.toJSONSchema), built once at start. OpenAPI 3.1 uses JSON Schema 2020-12 as is.

import { z } from 'zod';
import { errorCatalogue } from '../../errors/catalogue.js';
import type { ApiRoute } from './route.js';
import { errorResponse } from './views.js';

export interface OpenApiOptions {
  readonly title: string;
  readonly version: string;
  /** The API's base URL: PUBLIC_URL + /api/v1. */
  readonly serverUrl: string;
  readonly cookieName: string;
}

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  // Refinements (code point limits) cannot be expressed in JSON Schema; they are checked on the server.
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** The named fields of an object schema, for path and query parameters. */
function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (!(schema instanceof z.ZodObject)) return [];
  const shape = schema.shape as Record<string, z.ZodType>;
  return Object.entries(shape).map(([name, field]) => ({
    name,
    in: where,
    required: where === 'path' || !field.safeParse(undefined).success,
    schema: jsonSchema(field, 'input'),
  }));
}

/** Every route may answer these, whatever it does. */
const commonErrors = ['VALIDATION_FAILED', 'MALFORMED_JSON', 'CSRF_REJECTED', 'BODY_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'RATE_LIMITED', 'INTERNAL'];
const accessErrors: ReadonlyMap<ApiRoute['access'], readonly string[]> = new Map([
  ['public', []],
  ['signed-in', ['UNAUTHENTICATED']],
  ['verified', ['UNAUTHENTICATED', 'EMAIL_NOT_VERIFIED']],
  ['fresh', ['UNAUTHENTICATED', 'EMAIL_NOT_VERIFIED', 'REAUTHENTICATION_REQUIRED']],
  ['admin', ['UNAUTHENTICATED', 'EMAIL_NOT_VERIFIED', 'FORBIDDEN']],
]);
const statusOf: ReadonlyMap<string, number> = new Map(Object.entries(errorCatalogue).map(([code, definition]) => [code, definition.status]));

function errorResponses(route: ApiRoute): Record<string, JsonSchema> {
  const codes = [...new Set([...(accessErrors.get(route.access) ?? []), ...(route.errors ?? []), ...commonErrors])];
  const byStatus = new Map<number, string[]>();
  for (const code of codes) {
    const status = statusOf.get(code);
    // A code missing from the catalogue is a typo in a route definition: fail at start, not in production.
    if (status === undefined) throw new Error(`openapi: route ${route.method.toUpperCase()} ${route.path} names unknown error code ${code}`);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus]
      .sort(([a], [b]) => a - b)
      .map(([status, statusCodes]) => [
        String(status),
        { description: `Error: ${statusCodes.join(', ')}.`, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      ]),
  );
}

function operation(route: ApiRoute, cookieScheme: string): JsonSchema {
  const { body, query, params } = route.schemas;
  const success = Object.entries(route.responses).map(([status, spec]) => [
    status,
    spec.schema === undefined ? { description: spec.description } : { description: spec.description, content: { 'application/json': { schema: jsonSchema(spec.schema, 'output') } } },
  ]);
  const responses = { ...Object.fromEntries(success) as Record<string, JsonSchema>, ...errorResponses(route) };
  const changesState = route.method !== 'get';
  return {
    operationId: `${route.method}${route.path.replace(/[/:-]+(\w)/g, (_match, letter: string) => letter.toUpperCase())}`,
    summary: route.summary,
    tags: [route.tag],
    ...(route.access === 'public' ? {} : { security: [{ [cookieScheme]: [] }] }),
    parameters: [...parameters(params, 'path'), ...parameters(query, 'query'), ...(changesState ? [originParameter] : [])],
    ...(body === undefined ? {} : { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(body, 'input') } } } }),
    responses,
  };
}

/** The CSRF rule, stated where a client author looks: every state change names this site as its origin. */
const originParameter = {
  name: 'Origin',
  in: 'header',
  required: false,
  description: 'State changes need Content-Type: application/json and either Origin equal to this site or Sec-Fetch-Site: same-origin; without either they are refused with CSRF_REJECTED.',
  schema: { type: 'string' },
};

export function buildOpenApiDocument(routes: readonly ApiRoute[], options: Readonly<OpenApiOptions>): JsonSchema {
  const cookieScheme = 'sessionCookie';
  const paths = new Map<string, Map<string, JsonSchema>>();
  for (const route of routes) {
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    const operations = paths.get(path) ?? new Map<string, JsonSchema>();
    operations.set(route.method, operation(route, cookieScheme));
    paths.set(path, operations);
  }
  return {
    openapi: '3.1.0',
    info: { title: `${options.title} API`, version: options.version },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: options.serverUrl }],
    paths: Object.fromEntries([...paths].map(([path, operations]) => [path, Object.fromEntries(operations)])),
    components: {
      schemas: { Error: jsonSchema(errorResponse, 'output') },
      securitySchemes: { [cookieScheme]: { type: 'apiKey', in: 'cookie', name: options.cookieName, description: 'The session cookie set by POST /auth/sign-in.' } },
    },
  };
}
