// src/observability/dashboard.ts
// What the security dashboard (/admin/security) shows, read from the database in a handful of
// small queries: the charts come from the hourly rollups (a few hundred rows whatever the size of
// the trail), the lists from indexed ranges with a LIMIT. Nothing here scans the audit trail, so
// the page stays fast with millions of events (scripts/bench-dashboard.mjs measures it).

import { sql, type Kysely } from 'kysely';
import type { AuditDetail, AuditEvent } from '../accounts/types.js';
import type { Database } from '../storage/schema.js';
import { hourOf } from './security-signals.js';

const hourMs = 3_600_000;
const dayMs = 24 * hourMs;

export interface EventFilters {
  readonly type?: string | undefined;
  readonly outcome?: 'success' | 'failure' | undefined;
  /** Inclusive, ms. */
  readonly from?: number | undefined;
  /** Exclusive, ms. */
  readonly to?: number | undefined;
  /** 1-based page of `eventPageSize` events. */
  readonly page?: number | undefined;
}

export const eventPageSize = 50;
/** Deeper than this, narrow the filters: offsets stay cheap. */
export const maximumEventPage = 20;

export interface SignInBucket {
  /** The bucket's first millisecond (an hour, or a UTC day). */
  readonly start: number;
  readonly success: number;
  readonly failure: number;
  readonly throttled: number;
}

export interface CountByLabel {
  readonly label: string;
  readonly count: number;
}

export interface DashboardSnapshot {
  readonly generatedAt: number;
  readonly signInsByHour: readonly SignInBucket[];
  readonly signInsByDay: readonly SignInBucket[];
  /** Throttled (refused, unevaluated) sign-in attempts per hour, last 24 hours. */
  readonly throttledByHour: readonly { readonly start: number; readonly count: number }[];
  /** Distinct accounts whose throttling began in the last 24 hours (one owner email each). */
  readonly throttledAccounts: number;
  readonly rateLimitedByHour: readonly { readonly start: number; readonly count: number }[];
  readonly rateLimitedByLimiter: readonly CountByLabel[];
  readonly mfaFailuresByFactor: readonly CountByLabel[];
  readonly topSources: readonly { readonly network: string; readonly failures: number }[];
  /** undefined when the MFA tables are not there (an older schema). */
  readonly mfaAdoption: { readonly users: number; readonly withMfa: number; readonly admins: number; readonly adminsWithMfa: number } | undefined;
  readonly activeSessions: number | undefined;
  readonly cspReports: number;
  readonly events: readonly AuditEvent[];
  /** True when there is at least one more page of events. */
  readonly moreEvents: boolean;
}

export interface DashboardSource {
  snapshot(filters: EventFilters): Promise<DashboardSnapshot>;
}

function parseDetail(text: string | null): AuditDetail | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
    return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string | number | boolean] => ['string', 'number', 'boolean'].includes(typeof entry[1])));
  } catch {
    return null;
  }
}

async function rollup(db: Kysely<Database>, metric: string, since: number): Promise<{ hour: number; label: string; events: number }[]> {
  const rows = await db.selectFrom('security_rollup').select(['hour', 'label', 'events']).where('metric', '=', metric).where('hour', '>=', since).execute();
  return rows.map((row) => ({ hour: row.hour, label: row.label, events: row.events }));
}

function buckets(start: number, count: number, size: number): number[] {
  return Array.from({ length: count }, (_, index) => start + index * size);
}

export interface DashboardOptions {
  readonly db: Kysely<Database>;
  /** Signed-in sessions right now; undefined when the store cannot say. */
  readonly activeSessions?: () => Promise<number>;
  readonly now?: () => number;
}

export function createDashboardSource(options: DashboardOptions): DashboardSource {
  const { db } = options;
  const now = options.now ?? Date.now;

  const mfaAdoption = async (): Promise<DashboardSnapshot['mfaAdoption']> => {
    try {
      // The MFA tables belong to the MFA module (issue 4); written as SQL so this page does not
      // depend on their types, and tolerant of a schema without them.
      const result = await sql<{ users: number | string; with_mfa: number | string | null; admins: number | string | null; admins_with_mfa: number | string | null }>`
        select count(*) as users,
          sum(case when exists (select 1 from mfa_totp t where t.user_id = u.id and t.confirmed_at is not null)
                     or exists (select 1 from passkeys p where p.user_id = u.id) then 1 else 0 end) as with_mfa,
          sum(case when u.role = ${'admin'} then 1 else 0 end) as admins,
          sum(case when u.role = ${'admin'} and (exists (select 1 from mfa_totp t where t.user_id = u.id and t.confirmed_at is not null)
                     or exists (select 1 from passkeys p where p.user_id = u.id)) then 1 else 0 end) as admins_with_mfa
        from users u where u.disabled_at is null`.execute(db);
      const row = result.rows[0];
      if (row === undefined) return undefined;
      return { users: Number(row.users), withMfa: Number(row.with_mfa ?? 0), admins: Number(row.admins ?? 0), adminsWithMfa: Number(row.admins_with_mfa ?? 0) };
    } catch {
      return undefined;
    }
  };

  const events = async (filters: EventFilters): Promise<{ events: AuditEvent[]; more: boolean }> => {
    const page = Math.min(Math.max(filters.page ?? 1, 1), maximumEventPage);
    let query = db.selectFrom('audit_events').select(['id', 'at', 'type', 'outcome', 'actor_id', 'subject_id', 'ip', 'user_agent', 'detail']);
    if (filters.type !== undefined) query = query.where('type', '=', filters.type);
    if (filters.outcome !== undefined) query = query.where('outcome', '=', filters.outcome);
    if (filters.from !== undefined) query = query.where('at', '>=', filters.from);
    if (filters.to !== undefined) query = query.where('at', '<', filters.to);
    const rows = await query
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(eventPageSize + 1)
      .offset((page - 1) * eventPageSize)
      .execute();
    return {
      more: rows.length > eventPageSize && page < maximumEventPage,
      events: rows.slice(0, eventPageSize).map((row) => ({
        id: row.id,
        at: row.at,
        type: row.type,
        outcome: row.outcome,
        actorId: row.actor_id,
        subjectId: row.subject_id,
        ip: row.ip,
        userAgent: row.user_agent,
        detail: parseDetail(row.detail),
      })),
    };
  };

  return {
    async snapshot(filters) {
      const at = now();
      const thisHour = hourOf(at);
      const firstHour = thisHour - 23 * hourMs;
      const today = Math.floor(at / dayMs) * dayMs;
      const firstDay = today - 29 * dayMs;

      const [signIns, rateLimited, mfaFailures, throttledAccounts, sources, adoption, sessions, csp, listed] = await Promise.all([
        rollup(db, 'sign_in', Math.min(firstDay, firstHour)),
        rollup(db, 'rate_limited', firstHour),
        rollup(db, 'mfa_failure', firstHour),
        db
          .selectFrom('audit_events')
          .select((eb) => eb.fn.count<number | string>('subject_id').distinct().as('n'))
          .where('type', '=', 'sign_in_throttled')
          .where('at', '>=', at - dayMs)
          .executeTakeFirst(),
        db
          .selectFrom('failure_sources')
          .select(['network', (eb) => eb.fn.sum<number | string>('failures').as('failures')])
          .where('hour', '>=', firstHour)
          .groupBy('network')
          .orderBy('failures', 'desc')
          .orderBy('network')
          .limit(10)
          .execute(),
        mfaAdoption(),
        options.activeSessions?.().catch(() => undefined),
        db.selectFrom('csp_reports').select((eb) => eb.fn.countAll<number | string>().as('n')).where('at', '>=', at - dayMs).executeTakeFirst(),
        events(filters),
      ]);

      const hourly = new Map(buckets(firstHour, 24, hourMs).map((start) => [start, { start, success: 0, failure: 0, throttled: 0 }]));
      const daily = new Map(buckets(firstDay, 30, dayMs).map((start) => [start, { start, success: 0, failure: 0, throttled: 0 }]));
      for (const row of signIns) {
        const label = row.label === 'success' || row.label === 'failure' || row.label === 'throttled' ? row.label : undefined;
        if (label === undefined) continue;
        const hour = hourly.get(row.hour);
        // eslint-disable-next-line security/detect-object-injection -- label is one of three constants
        if (hour !== undefined) hour[label] += row.events;
        const day = daily.get(Math.floor(row.hour / dayMs) * dayMs);
        // eslint-disable-next-line security/detect-object-injection -- label is one of three constants
        if (day !== undefined) day[label] += row.events;
      }
      const perHour = (rows: { hour: number; events: number }[]) => {
        const totals = new Map(buckets(firstHour, 24, hourMs).map((start) => [start, 0]));
        for (const row of rows) if (totals.has(row.hour)) totals.set(row.hour, (totals.get(row.hour) ?? 0) + row.events);
        return [...totals].map(([start, count]) => ({ start, count }));
      };
      const byLabel = (rows: { label: string; events: number }[]) => {
        const totals = new Map<string, number>();
        for (const row of rows) totals.set(row.label, (totals.get(row.label) ?? 0) + row.events);
        return [...totals].map(([label, count]) => ({ label, count })).sort((left, right) => right.count - left.count || left.label.localeCompare(right.label));
      };

      return {
        generatedAt: at,
        signInsByHour: [...hourly.values()],
        signInsByDay: [...daily.values()],
        throttledByHour: perHour(signIns.filter((row) => row.label === 'throttled' && row.hour >= firstHour)),
        throttledAccounts: Number(throttledAccounts?.n ?? 0),
        rateLimitedByHour: perHour(rateLimited),
        rateLimitedByLimiter: byLabel(rateLimited),
        mfaFailuresByFactor: byLabel(mfaFailures),
        topSources: sources.map((row) => ({ network: row.network, failures: Number(row.failures) })),
        mfaAdoption: adoption,
        activeSessions: sessions,
        cspReports: Number(csp?.n ?? 0),
        events: listed.events,
        moreEvents: listed.more,
      };
    },
  };
}
