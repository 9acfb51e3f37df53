// src/observability/alerts.ts
// The optional alert webhook (PORTCULLIS_ALERT_WEBHOOK_URL): when failed authentications per
// minute, or accounts newly throttled within 15 minutes, reach their threshold, one JSON POST
// says so. Counts come from the database (the audit trail's (type, at) index), so they cover
// every instance; evaluation is triggered by this instance's own audit events (audit-bus.ts).
//
// One alert per episode: after it is sent, that kind stays quiet until the count has fallen
// below the threshold again and a quiet period has passed. A failed delivery is retried with
// exponential back-off a bounded number of times, then logged. The body holds counts, a time and
// networks already truncated to /24 or /48; never a secret, an address or an account. With a
// secret configured, X-Portcullis-Signature carries t=<unix seconds>,v1=<hex HMAC-SHA-256 of
// "<t>.<body>">, so the receiver can check origin and freshness.

import { createHmac, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AlertConfig } from '../config/config.js';
import type { Database } from '../storage/schema.js';
import { subscribeToAudit } from './audit-bus.js';
import type { Logger } from './logger.js';
import { hourOf, isAuthenticationFailure } from './security-signals.js';

export type AlertKind = 'authentication_failures' | 'throttled_accounts';

export interface AlertPayload {
  readonly id: string;
  readonly source: 'portcullis';
  readonly kind: AlertKind;
  readonly message: string;
  readonly observed: number;
  readonly threshold: number;
  readonly windowSeconds: number;
  readonly at: string;
  /** The busiest networks of failed attempts this hour (IPv4 /24, IPv6 /48). */
  readonly topNetworks: readonly { readonly network: string; readonly failures: number }[];
  readonly dashboard: string;
}

export interface AlertOptions {
  readonly db: Kysely<Database>;
  readonly config: AlertConfig;
  readonly logger: Logger;
  readonly publicOrigin: string;
  readonly now?: () => number;
  /** First retry delay; doubled each time (default 2 s). */
  readonly retryBaseMs?: number;
  /** Deliveries per alert before giving up (default 5). */
  readonly maxAttempts?: number;
  /** How long a kind stays quiet after its alert, at least (default 15 minutes). */
  readonly quietMs?: number;
}

export interface AlertMonitor {
  /** Counts now and sends what is due; evaluation after audit events calls this, tests may too. */
  evaluate(): Promise<void>;
  /** Stops listening and waits for a delivery in flight (bounded by its retries). */
  stop(): Promise<void>;
}

const failureWindowMs = 60_000;
const throttleWindowMs = 15 * 60_000;
const requestTimeoutMs = 5_000;

export function signAlert(secret: string, timestampSeconds: number, body: string): string {
  return `t=${timestampSeconds},v1=${createHmac('sha256', secret).update(`${timestampSeconds}.${body}`, 'utf8').digest('hex')}`;
}

export function startAlerts(options: AlertOptions): AlertMonitor {
  const { db, config, logger } = options;
  const now = options.now ?? Date.now;
  const retryBaseMs = options.retryBaseMs ?? 2_000;
  const maxAttempts = options.maxAttempts ?? 5;
  const quietMs = options.quietMs ?? 15 * 60_000;
  const firing = new Map<AlertKind, { sentAt: number }>();
  const deliveries = new Set<Promise<void>>();
  let stopped = false;
  let evaluating: Promise<void> | undefined;
  let pending = false;
  // Back-off waits, cut short at stop() so shutdown never waits for a retry.
  const waits = new Map<NodeJS.Timeout, () => void>();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        waits.delete(timer);
        resolve();
      }, ms);
      timer.unref();
      waits.set(timer, resolve);
    });

  const deliver = async (payload: AlertPayload): Promise<void> => {
    const body = JSON.stringify(payload);
    for (let attempt = 1; attempt <= maxAttempts && !stopped; attempt += 1) {
      const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': 'portcullis-alerts', 'X-Portcullis-Alert-Id': payload.id };
      if (config.secret !== undefined) headers['X-Portcullis-Signature'] = signAlert(config.secret, Math.floor(now() / 1000), body);
      try {
        const response = await fetch(config.webhookUrl, { method: 'POST', headers, body, redirect: 'error', signal: AbortSignal.timeout(requestTimeoutMs) });
        await response.body?.cancel();
        if (response.ok) {
          logger.warn({ code: 'SECURITY_ALERT_SENT', alert: { id: payload.id, kind: payload.kind, observed: payload.observed, threshold: payload.threshold }, attempt }, `security alert sent: ${payload.message}`);
          return;
        }
        logger.warn({ code: 'SECURITY_ALERT_REFUSED', status: response.status, attempt }, 'the alert webhook refused an alert');
      } catch (error) {
        logger.warn({ code: 'SECURITY_ALERT_UNREACHABLE', attempt, cause: error instanceof Error ? error.message : String(error) }, 'the alert webhook could not be reached');
      }
      if (attempt < maxAttempts) await sleep(retryBaseMs * 2 ** (attempt - 1));
    }
    if (!stopped) logger.error({ code: 'SECURITY_ALERT_UNDELIVERED', alert: { id: payload.id, kind: payload.kind } }, `a security alert could not be delivered after ${maxAttempts} attempts: ${payload.message}`);
  };

  const topNetworks = async () => {
    const rows = await db
      .selectFrom('failure_sources')
      .select(['network', (eb) => eb.fn.sum<number | string>('failures').as('failures')])
      .where('hour', '>=', hourOf(now()))
      .groupBy('network')
      .orderBy('failures', 'desc')
      .limit(3)
      .execute();
    return rows.map((row) => ({ network: row.network, failures: Number(row.failures) }));
  };

  const measure = async (): Promise<Record<AlertKind, number>> => {
    const at = now();
    const failures = await db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('type', 'in', ['sign_in', 'passkey_sign_in', 'second_factor'])
      .where('outcome', '=', 'failure')
      .where('at', '>', at - failureWindowMs)
      .executeTakeFirst();
    const throttled = await db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.count<number | string>('subject_id').distinct().as('n'))
      .where('type', '=', 'sign_in_throttled')
      .where('at', '>', at - throttleWindowMs)
      .executeTakeFirst();
    return { authentication_failures: Number(failures?.n ?? 0), throttled_accounts: Number(throttled?.n ?? 0) };
  };

  const evaluateOnce = async (): Promise<void> => {
    const counts = await measure();
    const thresholds: Record<AlertKind, { threshold: number; windowSeconds: number; message: (n: number) => string }> = {
      authentication_failures: {
        threshold: config.failuresPerMinute,
        windowSeconds: failureWindowMs / 1000,
        message: (n) => `${n} failed sign-ins and second-factor attempts in the last minute (threshold ${config.failuresPerMinute})`,
      },
      throttled_accounts: {
        threshold: config.throttledAccounts,
        windowSeconds: throttleWindowMs / 1000,
        message: (n) => `${n} accounts began to be throttled in the last 15 minutes (threshold ${config.throttledAccounts})`,
      },
    };
    for (const kind of ['authentication_failures', 'throttled_accounts'] as const) {
      // eslint-disable-next-line security/detect-object-injection -- kind is one of two constants
      const rule = thresholds[kind];
      // eslint-disable-next-line security/detect-object-injection -- kind is one of two constants
      const observed = counts[kind];
      const state = firing.get(kind);
      if (observed < rule.threshold) {
        // The episode is over once the count is back under the threshold and the quiet period passed.
        if (state !== undefined && now() - state.sentAt >= quietMs) firing.delete(kind);
        continue;
      }
      if (state !== undefined) continue;
      firing.set(kind, { sentAt: now() });
      const payload: AlertPayload = {
        id: randomUUID(),
        source: 'portcullis',
        kind,
        message: rule.message(observed),
        observed,
        threshold: rule.threshold,
        windowSeconds: rule.windowSeconds,
        at: new Date(now()).toISOString(),
        topNetworks: await topNetworks(),
        dashboard: `${options.publicOrigin}/admin/security`,
      };
      const delivery = deliver(payload).finally(() => deliveries.delete(delivery));
      deliveries.add(delivery);
    }
  };

  const evaluate = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    // One evaluation at a time; events during it ask for one more afterwards.
    if (evaluating !== undefined) {
      pending = true;
      return evaluating;
    }
    evaluating = (async () => {
      try {
        do {
          pending = false;
          await evaluateOnce();
        } while ((pending as boolean) && !(stopped as boolean));
      } catch (error) {
        logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'evaluating security alerts failed');
      } finally {
        evaluating = undefined;
      }
    })();
    return evaluating;
  };

  const unsubscribe = subscribeToAudit(db, (event) => {
    if (event.type === 'sign_in_throttled' || event.signals.some(isAuthenticationFailure)) void evaluate();
  });

  return {
    evaluate,
    async stop() {
      unsubscribe();
      await evaluating;
      stopped = true;
      for (const [timer, resolve] of waits) {
        clearTimeout(timer);
        resolve();
      }
      waits.clear();
      await Promise.allSettled([...deliveries]);
    },
  };
}
