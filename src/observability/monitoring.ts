// src/observability/monitoring.ts
// Everything issue 6 adds to a running server, made in one place for server/start.ts: the
// Prometheus metrics (fed by the audit trail through audit-bus.ts and by the typed API), the
// rollup buffer and the dashboard's data source, audit retention (every ten minutes, moving the
// chain's anchor), the sealing of audit rows written before the chain existed, and the alerts.

import type { Config } from '../config/config.js';
import type { Db } from '../storage/database.js';
import { KyselySessionStore } from '../storage/sessions/kysely-session-store.js';
import { startAlerts, type AlertMonitor } from './alerts.js';
import { auditChainKey, pruneAuditTrail, sealLegacyAuditRows } from './audit-chain.js';
import { subscribeToAudit } from './audit-bus.js';
import { createDashboardSource, type DashboardSource } from './dashboard.js';
import type { Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createRollupBuffer, type RollupBuffer } from './rollup.js';

/** What createApp() needs (app.ts): the metrics middleware and API, the dashboard, the database. */
export interface AppMonitoring {
  readonly metrics: Metrics;
  readonly dashboard: DashboardSource;
  readonly db: Db;
}

export interface Monitoring {
  readonly metrics: Metrics;
  readonly dashboard: DashboardSource;
  readonly rollup: RollupBuffer;
  readonly forApp: AppMonitoring;
  /** The alert webhook's monitor, when PORTCULLIS_ALERT_WEBHOOK_URL is set. */
  readonly alerts: AlertMonitor | undefined;
  /** Seals old audit rows, starts retention and alerts; call once the server is serving. */
  begin(): void;
  /** Applies the retention setting now; returns how many events were removed. */
  pruneNow(): Promise<number>;
  /** Stops timers and subscriptions and writes buffered counts; before the database closes. */
  close(): Promise<void>;
}

/** What the active-sessions gauge and the dashboard ask a session store that is not the database's. */
interface CountsSessions {
  /** Signed-in, unexpired sessions. */
  countActive?: () => Promise<number>;
  /** Every live entry (Redis expires them itself), anonymous ones with a form token included. */
  count?: () => Promise<number>;
}

export interface MonitoringOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly db: Db;
  /** The session store; when it offers countActive() (a Redis store), that is asked instead of the table. */
  readonly sessionStore: object;
  readonly now?: () => number;
}

const retentionIntervalMs = 10 * 60_000;

/** Signed-in sessions that have not expired, from the sessions table. */
export async function countDatabaseSessions(db: Db, at: number): Promise<number> {
  const row = await db
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('user_id', 'is not', null)
    .where('idle_expires_at', '>', at)
    .where('absolute_expires_at', '>', at)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** The best count of signed-in sessions the store can give (see CountsSessions). */
function sessionCounter(sessionStore: object, db: Db, now: () => number): () => Promise<number> {
  const store = sessionStore as CountsSessions;
  if (typeof store.countActive === 'function') {
    const countActive = store.countActive.bind(store);
    return () => countActive();
  }
  if (!(sessionStore instanceof KyselySessionStore) && typeof store.count === 'function') {
    const count = store.count.bind(store);
    return () => count();
  }
  return () => countDatabaseSessions(db, now());
}

export function startMonitoring(options: MonitoringOptions): Monitoring {
  const { config, logger, db } = options;
  const now = options.now ?? Date.now;
  const key = auditChainKey(config.masterKey);
  const activeSessions = sessionCounter(options.sessionStore, db, now);

  const rollup = createRollupBuffer(db, {
    now,
    onError: (error) => {
      logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'writing security counts for the dashboard failed');
    },
  });
  const metrics = createMetrics({ activeSessions, rollup, logger });
  // Audited events were rolled up in their own transaction; here they only move the counters.
  const unsubscribe = subscribeToAudit(db, (event) => {
    metrics.countAudited(event.signals);
  });
  const dashboard = createDashboardSource({ db, activeSessions, now });
  const alerts = config.monitoring.alerts === undefined ? undefined : startAlerts({ db, config: config.monitoring.alerts, logger, publicOrigin: config.publicOrigin, now });

  const retentionDays = config.monitoring.auditRetentionDays;
  const pruneNow = async (): Promise<number> => {
    if (retentionDays === null) return 0;
    const outcome = await pruneAuditTrail(db, key, now() - retentionDays * 86_400_000, now());
    if (outcome.removed > 0) logger.info({ removed: outcome.removed, anchorSeq: outcome.anchorSeq, retentionDays }, 'old audit events pruned; the chain is anchored at the first event kept');
    return outcome.removed;
  };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();

  return {
    metrics,
    dashboard,
    rollup,
    forApp: { metrics, dashboard, db },
    alerts,
    begin() {
      running = sealLegacyAuditRows(db, key, now())
        .then((sealed) => {
          if (sealed > 0) logger.info({ sealed }, 'audit events written before the hash chain existed were sealed into it');
          return pruneNow();
        })
        .catch((error: unknown) => {
          logger.error({ err: error instanceof Error ? error.message : String(error) }, 'audit chain upkeep failed; run "portcullis audit verify"');
        });
      if (retentionDays !== null) {
        timer = setInterval(() => {
          running = pruneNow().catch((error: unknown) => {
            logger.error({ err: error instanceof Error ? error.message : String(error) }, 'pruning old audit events failed; run "portcullis audit verify"');
          });
        }, retentionIntervalMs);
        timer.unref();
      }
    },
    pruneNow,
    async close() {
      if (timer !== undefined) clearInterval(timer);
      unsubscribe();
      await running;
      await alerts?.stop();
      await rollup.stop();
    },
  };
}
