// src/observability/metrics.ts
// Prometheus metrics (prom-client), served on their own listener (server/start.ts), never on the
// public port. Cardinality is bounded everywhere: HTTP durations are labelled by route template
// and status class, never by raw path or user; every security label comes from a fixed list
// (security-signals.ts).
//
// Where counts come from: events the audit trail records are counted from the trail itself
// (audit-bus.ts; see signalsOf for the list), and everything else through the typed
// SecurityMetrics API below, which code reaches with securityMetricsFor(req).

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from './logger.js';
import type { RollupBuffer } from './rollup.js';
import { cspDirectiveLabel, csrfReasons, limiterLabel, type MfaFactor, type PasswordResetStage, type SecuritySignal, type SignInOutcome } from './security-signals.js';

/** The typed API for security events that the audit trail does not record. */
export interface SecurityMetrics {
  signIn(outcome: SignInOutcome): void;
  lockoutEmail(): void;
  mfaFailure(factor: MfaFactor): void;
  /** A request refused by a rate limiter; `limiter` is the limiter's name in code (auth, general...). */
  rateLimited(limiter: string): void;
  passwordReset(stage: PasswordResetStage): void;
  csrfRefused(reason: string): void;
  cspReport(directive: string): void;
}

export interface Metrics {
  readonly registry: Registry;
  readonly security: SecurityMetrics;
  /** Counts signals of an event the audit trail already stored (and rolled up): counters only. */
  countAudited(signals: readonly SecuritySignal[]): void;
  /** The request-duration histogram (and unattributed 429s); mount first, before anything answers. */
  readonly httpMiddleware: RequestHandler;
  /**
   * Records one answer in the request-duration histogram, for answers written before
   * httpMiddleware runs (security/early-refusal.ts). `route` is a template or "unmatched".
   */
  readonly observeAnswer: (method: string, route: string, status: number, seconds: number) => void;
  /** The metrics listener's handler: GET /metrics, and a plain 404 for anything else. */
  readonly handler: RequestListener;
}

export interface MetricsOptions {
  /** Signed-in sessions that have not expired, read from the session store on each scrape. */
  readonly activeSessions: () => Promise<number>;
  /** Where unaudited signals are persisted for the dashboard; none in unit tests. */
  readonly rollup?: RollupBuffer;
  readonly logger?: Logger;
}

declare module 'express-serve-static-core' {
  interface Locals {
    /** Set when a 429 was already counted with its limiter's name (markRateLimited). */
    rateLimitCounted?: boolean;
  }
}

const noop = () => undefined;

/** Does nothing: what securityMetricsFor() returns on an app built without metrics. */
export const noSecurityMetrics: SecurityMetrics = Object.freeze({
  signIn: noop,
  lockoutEmail: noop,
  mfaFailure: noop,
  rateLimited: noop,
  passwordReset: noop,
  csrfRefused: noop,
  cspReport: noop,
});

const appKey = 'portcullisSecurityMetrics';

/** Makes `metrics` reachable from any request of `app` (app.locals). */
export function attachSecurityMetrics(app: { locals: Record<string, unknown> }, metrics: SecurityMetrics): void {
  // eslint-disable-next-line security/detect-object-injection -- a constant key
  app.locals[appKey] = metrics;
}

/** The metrics API for code that has a request: rate limiters, route handlers. */
export function securityMetricsFor(req: Request): SecurityMetrics {
  // eslint-disable-next-line security/detect-object-injection -- a constant key
  const found = (req.app.locals as Record<string, unknown>)[appKey];
  return (found as SecurityMetrics | undefined) ?? noSecurityMetrics;
}

/** Counts a 429 under the limiter's name and tells the HTTP middleware not to count it again. */
export function markRateLimited(req: Request, res: Response, limiter: string): void {
  res.locals.rateLimitCounted = true;
  securityMetricsFor(req).rateLimited(limiter);
}

const knownMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other';
}

function templateOf(path: unknown): string {
  if (typeof path === 'string') return path;
  if (Array.isArray(path)) return path.map(templateOf).join('|');
  return 'pattern';
}

/**
 * The limiter that refused a request, from the draft-8 RateLimit header express-rate-limit sets
 * (`"auth"; r=0; t=60`): the last policy with nothing remaining is the one that said no.
 */
export function refusingLimiter(header: string | number | string[] | undefined): string | undefined {
  const items = (Array.isArray(header) ? header : typeof header === 'string' ? [header] : []).flatMap((value) => value.split(','));
  let found: string | undefined;
  for (const item of items) {
    const match = /^\s*"([^"]{1,64})"\s*;(.*)$/.exec(item);
    if (match?.[1] !== undefined && /(?:^|;)\s*r=0\s*(?:;|$)/.test(match[2] ?? '')) found = match[1];
  }
  return found;
}

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  // Process metrics, heap, GC and event-loop lag (nodejs_eventloop_lag_*), prefixed as usual.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });

  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status class.',
    labelNames: ['method', 'route', 'status_class'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const signIns = new Counter({ name: 'portcullis_sign_ins_total', help: 'Sign-in attempts by outcome (success, failure, throttled: refused unevaluated by brute-force throttling).', labelNames: ['outcome'] as const, registers: [registry] });
  const lockoutEmails = new Counter({ name: 'portcullis_lockout_emails_total', help: 'Emails to account owners telling them sign-ins to their account are being throttled.', registers: [registry] });
  const mfaFailures = new Counter({ name: 'portcullis_mfa_failures_total', help: 'Failed second-factor attempts by factor.', labelNames: ['factor'] as const, registers: [registry] });
  const rateLimited = new Counter({ name: 'portcullis_rate_limited_requests_total', help: 'Requests refused with 429 by limiter.', labelNames: ['limiter'] as const, registers: [registry] });
  const passwordResets = new Counter({ name: 'portcullis_password_resets_total', help: 'Password resets by stage (requested, completed, failed).', labelNames: ['stage'] as const, registers: [registry] });
  const csrfRefusals = new Counter({ name: 'portcullis_csrf_refusals_total', help: 'State-changing requests refused as cross-site, by reason.', labelNames: ['reason'] as const, registers: [registry] });
  const cspReports = new Counter({ name: 'portcullis_csp_reports_total', help: 'Content-Security-Policy violation reports accepted, by directive.', labelNames: ['directive'] as const, registers: [registry] });
  const logger = options.logger;
  new Gauge({
    name: 'portcullis_active_sessions',
    help: 'Signed-in sessions that have not expired (read from the session store at scrape time).',
    registers: [registry],
    async collect() {
      try {
        this.set(await options.activeSessions());
      } catch (error) {
        // A scrape must still answer when the store is away; the gauge keeps its last value.
        logger?.warn({ err: error instanceof Error ? error.message : String(error) }, 'metrics: counting active sessions failed');
      }
    },
  });

  // Every known series starts at zero, so rate() and increase() see the first event.
  for (const outcome of ['success', 'failure', 'throttled']) signIns.inc({ outcome }, 0);
  lockoutEmails.inc(0);
  for (const factor of ['totp', 'recovery_code', 'passkey', 'unknown']) mfaFailures.inc({ factor }, 0);
  for (const stage of ['requested', 'completed', 'failed']) passwordResets.inc({ stage }, 0);
  for (const reason of csrfReasons) csrfRefusals.inc({ reason }, 0);

  const count = (signal: SecuritySignal): void => {
    switch (signal.metric) {
      case 'sign_in':
        signIns.inc({ outcome: signal.label });
        break;
      case 'lockout_email':
        lockoutEmails.inc();
        break;
      case 'mfa_failure':
        mfaFailures.inc({ factor: signal.label });
        break;
      case 'rate_limited':
        rateLimited.inc({ limiter: signal.label });
        break;
      case 'password_reset':
        passwordResets.inc({ stage: signal.label });
        break;
      case 'csrf_refused':
        csrfRefusals.inc({ reason: signal.label });
        break;
      case 'csp_report':
        cspReports.inc({ directive: signal.label });
        break;
    }
  };
  /** Unaudited signals: counted, and kept for the dashboard. */
  const record = (signal: SecuritySignal): void => {
    count(signal);
    options.rollup?.add(signal);
  };

  const security: SecurityMetrics = Object.freeze({
    signIn: (outcome: SignInOutcome) => {
      record({ metric: 'sign_in', label: outcome });
    },
    lockoutEmail: () => {
      record({ metric: 'lockout_email', label: 'sent' });
    },
    mfaFailure: (factor: MfaFactor) => {
      record({ metric: 'mfa_failure', label: factor });
    },
    rateLimited: (limiter: string) => {
      record({ metric: 'rate_limited', label: limiterLabel(limiter) });
    },
    passwordReset: (stage: PasswordResetStage) => {
      record({ metric: 'password_reset', label: stage });
    },
    csrfRefused: (reason: string) => {
      record({ metric: 'csrf_refused', label: (csrfReasons as readonly string[]).includes(reason) ? reason : 'other' });
    },
    cspReport: (directive: string) => {
      record({ metric: 'csp_report', label: cspDirectiveLabel(directive) });
    },
  });

  const observeAnswer = (method: string, route: string, status: number, seconds: number): void => {
    httpDuration.observe({ method: knownMethods.has(method) ? method : 'OTHER', route, status_class: statusClass(status) }, seconds);
  };

  const httpMiddleware: RequestHandler = (req, res, next) => {
    const started = process.hrtime.bigint();
    // Express assigns req.route when a route matches; catch that moment to remember the mount
    // path too (req.baseUrl is restored by the time an error handler answers).
    let route: { path?: unknown } | undefined;
    let mount = '';
    Object.defineProperty(req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => route,
      set: (value: { path?: unknown } | undefined) => {
        route = value;
        mount = req.baseUrl;
      },
    });
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const template = route === undefined ? 'unmatched' : `${mount}${templateOf(route.path)}`;
      observeAnswer(req.method, template, res.statusCode, seconds);
      if (res.statusCode === 429 && res.locals.rateLimitCounted !== true) {
        security.rateLimited(refusingLimiter(res.getHeader('RateLimit')) ?? 'unattributed');
      }
    });
    next();
  };

  const handler: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?', 1)[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' }).end('Not found\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' }).end(text);
      },
      (error: unknown) => {
        logger?.error({ err: error instanceof Error ? error.message : String(error) }, 'metrics: collecting failed');
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Metrics unavailable\n');
      },
    );
  };

  return { registry, security, countAudited: (signals) => { signals.forEach(count); }, httpMiddleware, observeAnswer, handler };
}
