// src/accounts/audit.ts
// The audit trail (ASVS 16.3.1, practice 8): every account event with when, who did it, to whom,
// from where and how it ended. Details are small flat records, and anything that looks like a
// secret is dropped before it is written, so a careless caller cannot put a password in the trail.

import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { createAuditAppender } from '../observability/audit-append.js';
import type { PlainAuditRow } from '../observability/audit-chain.js';
import { publishAuditRecorded } from '../observability/audit-bus.js';
import type { Logger } from '../observability/logger.js';
import { signalsOf } from '../observability/security-signals.js';
import type { Database } from '../storage/schema.js';
import type { AuditDetail, AuditEvent, NewAuditEvent } from './types.js';

type Queryable = Kysely<Database> | Transaction<Database>;

// Names that hold secrets, not names that merely mention them ("sessionsEnded" is a count).
const secretLooking = /pass|token|secret|cookie|sessionid|^sid$|hash|key|otp|credential|recovery|authorization/i;
const maximumDetailKeys = 20;
const maximumDetailString = 200;

function truncate(value: string | null, max: number): string | null {
  return value === null ? null : value.slice(0, max);
}

/** Keeps flat string/number/boolean values under ordinary names; drops the rest. */
export function sanitiseDetail(detail: unknown): AuditDetail | null {
  if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) return null;
  const kept = new Map<string, string | number | boolean>();
  for (const [key, value] of Object.entries(detail).slice(0, maximumDetailKeys)) {
    if (!/^[A-Za-z][A-Za-z0-9_]{0,39}$/.test(key) || secretLooking.test(key)) continue;
    if (typeof value === 'string') kept.set(key, value.slice(0, maximumDetailString));
    else if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) kept.set(key, value);
  }
  return kept.size === 0 ? null : Object.fromEntries(kept);
}

export interface AuditTrail {
  record(event: NewAuditEvent, db?: Queryable): Promise<void>;
  listForSubject(userId: string, limit: number): Promise<AuditEvent[]>;
  /** Strips what identifies a person (IP, user agent, detail) from every event about or by a user. */
  anonymise(userId: string, db?: Queryable): Promise<void>;
}

/**
 * `chainKey` (observability/audit-chain.ts's auditChainKey) seals each row into the hash chain;
 * the rollups for the dashboard and the metrics hook (audit-bus.ts) are fed from here too.
 */
export function createAuditTrail(db: Kysely<Database>, logger: Logger, now: () => number, chainKey: Buffer): AuditTrail {
  const appender = createAuditAppender(db, chainKey);
  return {
    async record(event, target = db) {
      const detail = sanitiseDetail(event.detail);
      const row: PlainAuditRow = {
        id: randomUUID(),
        at: now(),
        type: event.type.slice(0, 64),
        outcome: event.outcome === 'success' ? ('success' as const) : ('failure' as const),
        actor_id: event.actorId,
        subject_id: event.subjectId,
        ip: truncate(event.ip, 45),
        user_agent: truncate(event.userAgent, 512),
        detail: detail === null ? null : JSON.stringify(detail),
      };
      // Appended at the chain's head, with the dashboard's hourly counts in the same transaction or
      // statement (the caller's transaction, when it passes one: then the event commits or rolls
      // back with it). observability/audit-append.ts says how.
      const signals = signalsOf({ type: row.type, outcome: row.outcome, detail });
      await appender.append(row, signals, target);
      publishAuditRecorded({ source: db, at: row.at, type: row.type, outcome: row.outcome, subjectId: row.subject_id, ip: row.ip, detail, signals });
      // The same event as a log line, for whoever watches logs rather than the table.
      logger.info({ audit: { type: row.type, outcome: row.outcome, actorId: row.actor_id, subjectId: row.subject_id, ip: row.ip, detail } }, `audit: ${row.type} ${row.outcome}`);
    },
    async listForSubject(userId, limit) {
      const rows = await db
        .selectFrom('audit_events')
        .selectAll()
        .where('subject_id', '=', userId)
        .orderBy('at', 'desc')
        .orderBy('id')
        .limit(Math.min(Math.max(Math.trunc(limit) || 1, 1), 200))
        .execute();
      return rows.map((row) => ({
        id: row.id,
        at: row.at,
        type: row.type,
        outcome: row.outcome,
        actorId: row.actor_id,
        subjectId: row.subject_id,
        ip: row.ip,
        userAgent: row.user_agent,
        detail: row.detail === null ? null : sanitiseDetail(JSON.parse(row.detail)),
      }));
    },
    async anonymise(userId, target = db) {
      await target
        .updateTable('audit_events')
        // The salt goes too: the row's commitment then proves nothing about what was there, and
        // the chain still verifies (observability/audit-chain.ts).
        .set({ ip: null, user_agent: null, detail: null, personal_salt: null })
        .where((eb) => eb.or([eb('subject_id', '=', userId), eb('actor_id', '=', userId)]))
        .execute();
    },
  };
}
