// src/app.ts
// createApp(): the whole middleware chain in one readable list. Order matters and is explained.

import type { RequestListener } from 'node:http';
import express, { type Express } from 'express';
import type session from 'express-session';
import type { MfaService } from './accounts/mfa/service.js';
import type { Config } from './config/config.js';
import type { Logger } from './observability/logger.js';
import { accessLogOf, requestContext } from './observability/request-context.js';
import type { AppMonitoring } from './observability/monitoring.js';
import { attachSecurityMetrics } from './observability/metrics.js';
import { createCsrfProtection } from './security/csrf.js';
import { securityHeaderList, securityHeaders } from './security/headers.js';
import { createEarlyRefusal, refusingBefore, type TrustProxy } from './security/early-refusal.js';
import { createSessionGate, type StateBackend } from './security/availability.js';
import type { SignInProtection } from './security/brute-force.js';
import type { RateLimiters } from './security/rate-limit.js';
import { requireSecureTransport } from './security/https.js';
import { refuseTraceMethods, requireAcceptedBodyType, requireDecodablePath } from './security/request-guards.js';
import { createSessionMiddleware, sessionCookieSecret } from './security/session.js';
import { createErrorHandler, notFound } from './errors/handler.js';
import { createAccessGuard, loadCurrentUser } from './web/access.js';
import { createMfaEnrolmentGate } from './web/mfa-session.js';
import type { AccountOperations, UserSessions } from './web/accounts-port.js';
import { apiBasePath, apiRouter } from './web/api/index.js';
import type { WebDependencies } from './web/dependencies.js';
import { createStaticAssets } from './web/static.js';
import { createScriptAssets } from './web/scripts.js';
import { accountPageRoutes } from './web/routes/account.js';
import { adminPageRoutes } from './web/routes/admin.js';
import { adminSecurityRoutes } from './web/routes/admin-security.js';
import { cspReportRoutes } from './web/routes/csp-reports.js';
import { authPageRoutes } from './web/routes/auth.js';
import { mfaPageRoutes } from './web/routes/mfa.js';
import { healthRoutes } from './web/routes/health.js';
import { guestHomeDocument, pageRoutes } from './web/routes/pages.js';
import { createGuestLane } from './web/guest-lane.js';
import { createSignedInLane } from './web/signed-in-lane.js';
import { unlockPageRoutes } from './web/routes/unlock.js';
import { memoiseDocumentWithValue, renderDocument } from './web/render.js';
import { ErrorPage } from './web/pages/error.js';
import { requestMeta } from './web/session-state.js';

export interface AppDependencies {
  readonly config: Config;
  readonly logger: Logger;
  /** express-session's store, which can also list and end a user's sessions. */
  readonly sessionStore: session.Store & UserSessions;
  readonly accounts: AccountOperations;
  readonly isReady: () => Promise<boolean>;
  /** Second factors (issue 4): TOTP, recovery codes and passkeys. */
  readonly mfa: MfaService;
  /** Every request's limits, counted where all instances see them (security/rate-limit.ts). */
  readonly rateLimiters: RateLimiters;
  /** Per-account sign-in throttling with device cookies (security/brute-force.ts). */
  readonly signInProtection: SignInProtection;
  /** The shared session store's connection (Redis); undefined when sessions are in the database. */
  readonly stateBackend?: StateBackend | undefined;
  /** Metrics, the security dashboard and CSP reports (issue 6); absent, the app has none of them. */
  readonly monitoring?: AppMonitoring | undefined;
}

/** The application, and what the server's listener runs for each request. */
export interface PortcullisApp {
  /** Every middleware and route (tests list the routes from it). */
  readonly app: Express;
  /** Known offenders refused, and the guest's and signed-in home page and /api/v1/me answered, before Express (step 0 below); else the app. */
  readonly listener: RequestListener;
}

/** The password rules in words, from the same configuration the domain enforces. */
function passwordHint(config: Config): string {
  return `At least ${config.passwords.minLength} characters; no rules about digits or symbols. A few unrelated words make a strong, memorable passphrase. Spaces and any language are welcome.`;
}

export function createApp({ config, logger, sessionStore, accounts, isReady, rateLimiters, signInProtection, stateBackend, mfa, monitoring }: AppDependencies): PortcullisApp {
  const app = express();
  app.disable('x-powered-by');
  // Hop count or CIDR list only (config refuses "true"): X-Forwarded-* from anyone else is ignored.
  app.set('trust proxy', config.trustProxy);
  // node:querystring: flat values, a repeated key becomes an array that validation then refuses.
  app.set('query parser', 'simple');
  app.set('case sensitive routing', true);
  // Dynamic answers are marked no-store (security/headers.ts), so no cache ever uses an ETag:
  // hashing every page to make one was wasted work on every request (issue 8). Static assets
  // keep theirs: express.static makes its own.
  app.set('etag', false);

  // Error pages differ only in their request id: each status and message is rendered once.
  const renderErrorPageFor = memoiseDocumentWithValue(
    (requestId: string, status: number, message: string) => renderDocument(ErrorPage({ siteName: config.siteName, status, message, requestId })),
    (status, message) => `${status} ${message}`,
  );
  const renderErrorPage = (error: { status: number; publicMessage: string }, requestId: string) => renderErrorPageFor(requestId, error.status, error.publicMessage);

  // The passkey scripts, read once and served with their Subresource Integrity hashes.
  const scripts = createScriptAssets();
  const web: WebDependencies = {
    config,
    accounts,
    sessions: sessionStore,
    requireAccess: createAccessGuard({ requireVerifiedEmail: config.accounts.requireVerifiedEmail, accounts }),
    requireVerifiedEmail: config.accounts.requireVerifiedEmail,
    passwordHint: passwordHint(config),
    mfa,
    passkeyScripts: config.mfa.webauthn === undefined ? undefined : scripts.passkeys,
    secondFactorGate: (req, userId, verify) => signInProtection.secondFactor(req, userId, verify),
    signInProtection,
  };

  const headerOptions = { hstsMaxAgeSeconds: config.hsts.maxAgeSeconds, hstsPreload: config.hsts.preload };

  // 0. A client the general limit has already refused this window: refused again before Express
  //    sees the request, with the answer the chain would give, logged and counted
  //    (early-refusal.ts; run by the listener returned below).
  const laneAnswers = {
    securityHeaders: securityHeaderList(headerOptions),
    renderErrorPage,
    accessLog: accessLogOf(logger),
    metrics: monitoring?.metrics,
    trustProxy: app.get('trust proxy fn') as TrustProxy,
  };
  const refuseKnownOffender = createEarlyRefusal({ ...laneAnswers, knownRefusal: rateLimiters.knownRefusal });
  const reportLaneFailure =
    (code: 'EARLY_REFUSAL_FAILED' | 'GUEST_LANE_FAILED' | 'SIGNED_IN_LANE_FAILED') =>
    (error: unknown): void => {
      logger.error({ code, cause: error instanceof Error ? error.message : String(error) }, 'an answer before Express failed; the request went to the application');
    };
  //    Then the home page of a visitor who is not signed in, the same for all of them: counted
  //    against the general limit and answered with the chain's headers, before Express
  //    (web/guest-lane.ts). Every other request, and every route a team adds, goes to Express.
  const serveGuestPage = createGuestLane({
    ...laneAnswers,
    pages: new Map([['/', guestHomeDocument(config.siteName)]]),
    cookieName: config.session.cookieName,
    countGeneral: rateLimiters.countGeneral,
    application: app,
    onError: reportLaneFailure('GUEST_LANE_FAILED'),
  });
  //    Then the pages a signed-in person asks for most (the home page, GET /api/v1/me): the
  //    session cookie, the session and the account read as the chain reads them, counted against
  //    the general limit, the activity recorded, answered with the chain's headers, before Express
  //    (web/signed-in-lane.ts). Anything it is not sure of goes to Express.
  const serveSignedInPage = createSignedInLane({
    ...laneAnswers,
    siteName: config.siteName,
    cookieName: config.session.cookieName,
    cookieSecret: sessionCookieSecret(config),
    store: sessionStore,
    backend: stateBackend,
    getUser: (userId) => accounts.getUser(userId),
    secondFactorRequiredFor: (role) => mfa.isRequiredFor(role),
    requireVerifiedEmail: config.accounts.requireVerifiedEmail,
    countGeneral: rateLimiters.countGeneral,
    application: app,
    onError: reportLaneFailure('SIGNED_IN_LANE_FAILED'),
    onTouchFailed: (error) => {
      logger.warn({ code: 'SESSION_STORE_WRITE_FAILED', cause: error instanceof Error ? error.message : 'unknown' }, 'the session could not be saved after the answer was sent');
    },
  });
  //    Metrics: request durations by route template, timed from the very first middleware, and
  //    the typed API for security events (securityMetricsFor(req), observability/metrics.ts).
  if (monitoring !== undefined) {
    attachSecurityMetrics(app, monitoring.metrics.security);
    app.use(monitoring.metrics.httpMiddleware);
  }
  // 1. Who is asking, and the headers every answer carries (errors included).
  app.use(requestContext(logger));
  //    (Helmet's headers, with the few it does not cover, computed once: security/headers.ts.)
  app.use(securityHeaders(headerOptions));
  // 2. Requests refused before any work: TRACE; then health checks, which a supervisor may ask
  //    over plain HTTP on loopback behind a proxy and which reveal nothing; then plain HTTP
  //    through a proxy and undecodable paths.
  app.use(refuseTraceMethods);
  app.use(healthRoutes(isReady));
  app.use(requireSecureTransport(config.publicOrigin));
  app.use(requireDecodablePath);
  // 3. Cheap answers that need no session: static assets.
  app.use('/assets', scripts.handler);
  app.use('/assets', createStaticAssets());
  //    Everything past here counts against the client address's general limit (whose known
  //    offenders were already refused at 0).
  app.use(rateLimiters.general);
  //    Browsers' CSP violation reports: their own content types, no session, no form token (the
  //    narrow CSRF exemption is explained in web/routes/csp-reports.ts); 8 KiB, rate limited.
  if (monitoring !== undefined) app.use(cspReportRoutes({ db: monitoring.db, publicOrigin: config.publicOrigin }));
  // 4. Bodies: only JSON and forms, bounded in size and parameter count.
  app.use(requireAcceptedBodyType());
  app.use(express.json({ limit: config.http.bodyLimitBytes, strict: true, type: 'application/json' }));
  app.use(express.urlencoded({ extended: false, limit: config.http.bodyLimitBytes, parameterLimit: 50, type: 'application/x-www-form-urlencoded' }));
  //    The stricter limits of the authentication routes (per address, and per target email),
  //    before any session is made for the request.
  app.use(rateLimiters.auth);
  app.use(rateLimiters.email);
  // 5. Sessions; then, for every state change whatever its route, proof that this site sent it;
  //    then who is signed in, read fresh from the database (a revoked session is gone already).
  //    (While a shared session store is away, pages that need a session answer 503; public ones
  //    are served without one.)
  app.use(createSessionGate({ session: createSessionMiddleware(config, sessionStore), store: sessionStore, cookieName: config.session.cookieName, backend: stateBackend }));
  app.use(
    createCsrfProtection({
      publicOrigin: config.publicOrigin,
      onRejected: (req, reason) => {
        const meta = requestMeta(req);
        return accounts.recordEvent({
          type: 'csrf_rejected',
          outcome: 'failure',
          // Shown on the account's activity too: someone tried to act in this person's name.
          actorId: req.session.userId ?? null,
          subjectId: req.session.userId ?? null,
          ip: meta.ip,
          userAgent: meta.userAgent,
          detail: { reason, method: req.method, path: req.path.slice(0, 200) },
        });
      },
    }),
  );
  app.use(loadCurrentUser(accounts));
  //    An account that must use a second factor and has none reaches only enrolment.
  app.use(createMfaEnrolmentGate(mfa));
  // 6. The application: the JSON API, then the pages by area.
  app.use(apiBasePath, apiRouter(web));
  app.use(pageRoutes(web));
  app.use(authPageRoutes(web));
  app.use(mfaPageRoutes(web));
  app.use(unlockPageRoutes(web));
  app.use(accountPageRoutes(web));
  app.use(adminPageRoutes(web));
  if (monitoring !== undefined) app.use(adminSecurityRoutes(web, monitoring.dashboard));
  // 7. Nothing matched; then every error, from anywhere, is answered in one place.
  app.use(notFound);
  app.use(createErrorHandler(renderErrorPage));
  return {
    app,
    listener: refusingBefore(app, (req, res) => refuseKnownOffender(req, res) || serveGuestPage(req, res) || serveSignedInPage(req, res), reportLaneFailure('EARLY_REFUSAL_FAILED')),
  };
}
