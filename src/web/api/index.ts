// src/web/api/index.ts
// /api/v1: every route from the route table, each behind its access rule and validate(), plus the
// OpenAPI document describing exactly that table. Unknown API paths fall through to the JSON 404.

import { Router } from 'express';
import { validate } from '../../security/validation.js';
import type { WebDependencies } from '../dependencies.js';
import { authApiRoutes } from './auth.js';
import { meApiRoutes } from './me.js';
import { mfaApiRoutes } from './mfa.js';
import { buildOpenApiDocument } from './openapi.js';
import type { ApiRoute } from './route.js';

export const apiBasePath = '/api/v1';

/** The version the document states; bump it with any change to a route or schema. */
export const apiVersion = '1.1.0';

export function apiRouteTable(deps: WebDependencies): ApiRoute[] {
  return [...authApiRoutes(deps), ...meApiRoutes(deps), ...mfaApiRoutes(deps)];
}

export function apiRouter(deps: WebDependencies): Router {
  const routes = apiRouteTable(deps);
  const document = buildOpenApiDocument(routes, {
    title: deps.config.siteName,
    version: apiVersion,
    serverUrl: `${deps.config.publicOrigin}${apiBasePath}`,
    cookieName: deps.config.session.cookieName,
  });
  const router = Router();
  router.get('/openapi.json', validate({}), (_req, res) => {
    res.json(document);
  });
  for (const route of routes) {
    const guards = route.access === 'public' ? [] : [deps.requireAccess(route.access, 'api')];
    router[route.method](route.path, ...guards, validate(route.schemas), route.handle);
  }
  return router;
}
