// src/observability/rollup.ts
// The hourly rollups behind the security dashboard. Audited signals are added in the same
// transaction or statement as their audit row (audit-append.ts), so the counts and the trail
// agree; signals that are not audited (rate-limited requests, CSP reports) are buffered in
// memory and written in one upsert per hour, metric and label every few seconds, so an attack does
// not become a write per request.

import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../storage/schema.js';
import { hourOf, isAuthenticationFailure, networkOf, type SecuritySignal } from './security-signals.js';

type Queryable = Kysely<Database> | Transaction<Database>;

async function addToRollup(db: Queryable, hour: number, metric: string, label: string, events: number): Promise<void> {
  await db
    .insertInto('security_rollup')
    .values({ hour, metric, label, events })
    .onConflict((conflict) => conflict.columns(['hour', 'metric', 'label']).doUpdateSet({ events: sql<number>`security_rollup.events + excluded.events` }))
    .execute();
}

async function addFailureSource(db: Queryable, hour: number, network: string, failures: number): Promise<void> {
  await db
    .insertInto('failure_sources')
    .values({ hour, network, failures })
    .onConflict((conflict) => conflict.columns(['hour', 'network']).doUpdateSet({ failures: sql<number>`failure_sources.failures + excluded.failures` }))
    .execute();
}

/** An audited event as the rollups see it: when, from where, and its signals. */
export interface SignalledEvent {
  readonly at: number;
  readonly ip: string | null;
  readonly signals: readonly SecuritySignal[];
}

export interface SignalCounts {
  readonly rollups: readonly { hour: number; metric: string; label: string; events: number }[];
  readonly failureSources: readonly { hour: number; network: string; failures: number }[];
}

/**
 * What events add to the hourly rollups and to the failure sources (an authentication failure
 * counts for its network), summed per hour, metric and label and per hour and network.
 */
export function countSignals(events: readonly SignalledEvent[]): SignalCounts {
  const rollups = new Map<string, { hour: number; metric: string; label: string; events: number }>();
  const failureSources = new Map<string, { hour: number; network: string; failures: number }>();
  for (const { at, ip, signals } of events) {
    const hour = hourOf(at);
    for (const signal of signals) {
      const key = `${hour}\n${signal.metric}\n${signal.label}`;
      const entry = rollups.get(key) ?? { hour, metric: signal.metric, label: signal.label, events: 0 };
      entry.events += 1;
      rollups.set(key, entry);
    }
    const network = signals.some(isAuthenticationFailure) ? networkOf(ip) : undefined;
    if (network !== undefined) {
      const key = `${hour}\n${network}`;
      const entry = failureSources.get(key) ?? { hour, network, failures: 0 };
      entry.failures += 1;
      failureSources.set(key, entry);
    }
  }
  return { rollups: [...rollups.values()], failureSources: [...failureSources.values()] };
}

/** Counts audited events' signals (and where failures came from) in the caller's transaction. */
export async function rollUpSignals(db: Queryable, events: readonly SignalledEvent[]): Promise<void> {
  const { rollups, failureSources } = countSignals(events);
  for (const entry of rollups) await addToRollup(db, entry.hour, entry.metric, entry.label, entry.events);
  for (const entry of failureSources) await addFailureSource(db, entry.hour, entry.network, entry.failures);
}

export interface RollupBuffer {
  add(signal: SecuritySignal, at?: number): void;
  /** Writes what is buffered; safe to call at any time (and at shutdown). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/** Buffers unaudited signals and writes them every `intervalMs` (default 5 s). */
export function createRollupBuffer(db: Kysely<Database>, options: { intervalMs?: number; now?: () => number; onError?: (error: unknown) => void } = {}): RollupBuffer {
  const now = options.now ?? Date.now;
  let pending = new Map<string, { hour: number; metric: string; label: string; events: number }>();
  let flushing: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    flushing = flushing.then(async () => {
      if (pending.size === 0) return;
      const batch = [...pending.values()];
      pending = new Map();
      try {
        for (const entry of batch) await addToRollup(db, entry.hour, entry.metric, entry.label, entry.events);
      } catch (error) {
        options.onError?.(error);
      }
    });
    return flushing;
  };
  const timer = setInterval(() => void flush(), options.intervalMs ?? 5_000);
  timer.unref();

  return {
    add(signal, at = now()) {
      const hour = hourOf(at);
      const key = `${hour}|${signal.metric}|${signal.label}`;
      const entry = pending.get(key);
      if (entry === undefined) pending.set(key, { hour, metric: signal.metric, label: signal.label, events: 1 });
      else entry.events += 1;
    },
    flush,
    async stop() {
      clearInterval(timer);
      await flush();
    },
  };
}
