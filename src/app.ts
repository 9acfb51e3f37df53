// src/app.ts
// createApp(): the whole middleware chain in one readable list. Order matters and is explained.

import express, { type Express } from 'express';
import type session from 'express-session';
import type { Config } from './config/config.js';
import type { Logger } from './observability/logger.js';
import { requestContext } from './observability/request-context.js';
import { createHelmet, extraSecurityHeaders } from './security/headers.js';
import { requireSecureTransport } from './security/https.js';
import { refuseTraceMethods, requireAcceptedBodyType, requireDecodablePath } from './security/request-guards.js';
import { createSessionMiddleware } from './security/session.js';
import { createErrorHandler, notFound } from './errors/handler.js';
import { createStaticAssets } from './web/static.js';
import { healthRoutes } from './web/routes/health.js';
import { pageRoutes } from './web/routes/pages.js';
import { renderDocument } from './web/render.js';
import { ErrorPage } from './web/pages/error.js';

export interface AppDependencies {
  readonly config: Config;
  readonly logger: Logger;
  readonly sessionStore: session.Store;
  readonly isReady: () => Promise<boolean>;
}

export function createApp({ config, logger, sessionStore, isReady }: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  // Hop count or CIDR list only (config refuses "true"): X-Forwarded-* from anyone else is ignored.
  app.set('trust proxy', config.trustProxy);
  // node:querystring: flat values, a repeated key becomes an array that validation then refuses.
  app.set('query parser', 'simple');
  app.set('case sensitive routing', true);

  const renderErrorPage = (error: { status: number; publicMessage: string }, requestId: string) =>
    renderDocument(ErrorPage({ siteName: config.siteName, status: error.status, message: error.publicMessage, requestId }));

  // 1. Who is asking, and the headers every answer carries (errors included).
  app.use(requestContext(logger));
  app.use(createHelmet({ hstsMaxAgeSeconds: config.hsts.maxAgeSeconds, hstsPreload: config.hsts.preload }));
  app.use(extraSecurityHeaders);
  // 2. Requests refused before any work: TRACE, plain HTTP through a proxy, undecodable paths.
  app.use(refuseTraceMethods);
  app.use(requireSecureTransport(config.publicOrigin));
  app.use(requireDecodablePath);
  // 3. Cheap answers that need no session: static assets and health checks.
  app.use('/assets', createStaticAssets());
  app.use(healthRoutes(isReady));
  // 4. Bodies: only JSON and forms, bounded in size and parameter count.
  app.use(requireAcceptedBodyType());
  app.use(express.json({ limit: config.http.bodyLimitBytes, strict: true, type: 'application/json' }));
  app.use(express.urlencoded({ extended: false, limit: config.http.bodyLimitBytes, parameterLimit: 50, type: 'application/x-www-form-urlencoded' }));
  // 5. Sessions, then the application.
  app.use(createSessionMiddleware(config, sessionStore));
  app.use(pageRoutes(config.siteName));
  // 6. Nothing matched; then every error, from anywhere, is answered in one place.
  app.use(notFound);
  app.use(createErrorHandler(renderErrorPage));
  return app;
}
