// src/observability/audit-append.ts
// How an audited event joins the hash chain (audit-chain.ts), with the dashboard's counts for it.
//
// Inside a caller's transaction, and on SQLite, the general way: take the chain's lock, read the
// head, insert the row, save the new head, count the signals. On PostgreSQL outside a transaction
// that is six statements (BEGIN and COMMIT included), six round trips, and on a loaded server each
// costs the application about what bare Express spends on a whole request (issue 8's profile of
// the sign-in flood). There an append is one statement instead:
//
// - this process remembers the chain's state as it last wrote (or read) it;
// - one statement advances the state from that head only if it is still the head (compared with
//   its MAC, which covers the anchor too), and inserts the row and its counts only if it did:
//   data-modifying CTEs, so one snapshot and all or nothing, and the UPDATE's row lock serialises
//   it with every other writer exactly as the general way's lock does;
// - when another instance appended (or pruned) meanwhile nothing is written: the state is read
//   afresh and the append tried again, and after a few misses it goes the general way.
//
// This process's own appends queue behind each other, so they never miss because of one another.

import { PostgresAdapter, sql, type Kysely, type Transaction } from 'kysely';
import { preparedQuery } from '../storage/prepared-query.js';
import type { Database } from '../storage/schema.js';
import { appendLocked, commitPersonalFields, rowHash, stateMac, withChainLock, type ChainState, type PlainAuditRow } from './audit-chain.js';
import { rollUpSignals } from './rollup.js';
import { hourOf, isAuthenticationFailure, networkOf, type SecuritySignal } from './security-signals.js';

type Queryable = Kysely<Database> | Transaction<Database>;

export interface AuditAppender {
  /** Appends `row` and counts its signals: in `target`'s transaction when it is one (then they commit or roll back with it). */
  append(row: PlainAuditRow, signals: readonly SecuritySignal[], target?: Queryable): Promise<void>;
}

/** Tries of the one-statement append before going the general way (each miss means another writer won). */
const maximumTries = 3;

const chainState = preparedQuery(0, (db: Kysely<Database>) =>
  db.selectFrom('audit_chain').select(['anchor_seq', 'anchor_hash', 'anchor_at', 'head_seq', 'head_hash', 'legacy_sealed', 'pruned_total', 'state_mac']).where('id', '=', 1),
);

// Every value is a parameter (one text for every event, so PostgreSQL plans it once per connection),
// cast where a SELECT list would otherwise leave its type unknown.
/** What the one-statement append binds, in order. */
type AppendArguments = [
  headSeq: number,
  headHash: string,
  mac: string,
  now: number,
  previousSeq: number,
  previousHash: string,
  previousMac: string,
  id: string,
  at: number,
  type: string,
  outcome: string,
  actorId: string | null,
  subjectId: string | null,
  ip: string | null,
  userAgent: string | null,
  detail: string | null,
  salt: string,
  commitment: string,
  hour: number,
  metrics: readonly string[],
  labels: readonly string[],
  counts: readonly string[],
  network: string | null,
];

const appendIfHead = preparedQuery<Kysely<Database>, { seq: number }, AppendArguments>(
  23,
  (db, headSeq, headHash, mac, now, previousSeq, previousHash, previousMac, id, at, type, outcome, actorId, subjectId, ip, userAgent, detail, salt, commitment, hour, metrics, labels, counts, network) => {
    const query = sql<{ seq: number }>`
      with advanced as (
        update audit_chain set head_seq = ${headSeq}, head_hash = ${headHash}, state_mac = ${mac}, updated_at = ${now}
        where id = 1 and head_seq = ${previousSeq} and head_hash = ${previousHash} and state_mac = ${previousMac}
        returning head_seq
      ), appended as (
        insert into audit_events (id, at, type, outcome, actor_id, subject_id, ip, user_agent, detail, seq, hash, personal_salt, personal_commitment)
        select cast(${id} as varchar), cast(${at} as bigint), cast(${type} as varchar), cast(${outcome} as varchar), cast(${actorId} as varchar),
          cast(${subjectId} as varchar), cast(${ip} as varchar), cast(${userAgent} as varchar), cast(${detail} as text), advanced.head_seq,
          cast(${headHash} as varchar), cast(${salt} as varchar), cast(${commitment} as varchar)
        from advanced
        returning seq
      ), counted as (
        insert into security_rollup (hour, metric, label, events)
        select cast(${hour} as bigint), signal.metric, signal.label, signal.events
        from advanced cross join unnest(cast(${metrics} as varchar[]), cast(${labels} as varchar[]), cast(${counts} as bigint[])) as signal (metric, label, events)
        on conflict (hour, metric, label) do update set events = security_rollup.events + excluded.events
      ), sourced as (
        insert into failure_sources (hour, network, failures)
        select cast(${hour} as bigint), cast(${network} as varchar), 1
        from advanced where cast(${network} as varchar) is not null
        on conflict (hour, network) do update set failures = failure_sources.failures + excluded.failures
      )
      select seq from appended`;
    return { compile: () => query.compile(db) };
  },
);

/** The signals as parallel lists for unnest, one entry per metric and label (ON CONFLICT may touch a row once). */
function countedSignals(signals: readonly SecuritySignal[]): { metrics: string[]; labels: string[]; counts: string[] } {
  const counts = new Map<string, { metric: string; label: string; events: number }>();
  for (const signal of signals) {
    const key = `${signal.metric}\n${signal.label}`;
    const entry = counts.get(key);
    if (entry === undefined) counts.set(key, { metric: signal.metric, label: signal.label, events: 1 });
    else entry.events += 1;
  }
  const entries = [...counts.values()];
  return { metrics: entries.map((entry) => entry.metric), labels: entries.map((entry) => entry.label), counts: entries.map((entry) => String(entry.events)) };
}

export function createAuditAppender(db: Kysely<Database>, key: Buffer): AuditAppender {
  const oneStatement = db.getExecutor().adapter instanceof PostgresAdapter;
  // The chain's state as this process last wrote or read it; undefined when it may be stale.
  let known: ChainState | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  const appendInTransaction = async (row: PlainAuditRow, signals: readonly SecuritySignal[], target: Queryable): Promise<void> => {
    known = undefined;
    const written = await withChainLock(db, target, async (trx, state) => {
      const appended = await appendLocked(trx, key, state, row, row.at);
      if (signals.length > 0) await rollUpSignals(trx, row.at, signals, row.ip);
      return appended.state;
    });
    // Committed when the transaction was this one's own; a caller's may yet roll back: then the state stays unknown.
    if (!target.isTransaction) known = written;
  };

  /** True when written; false when the state it started from was no longer the chain's head. */
  const tryOneStatement = async (row: PlainAuditRow, signals: readonly SecuritySignal[], state: ChainState, previousMac: string): Promise<boolean> => {
    const personal = commitPersonalFields(row);
    const seq = state.head_seq + 1;
    const hash = rowHash(key, { ...row, seq, personal_commitment: personal.personal_commitment }, state.head_hash);
    const next = { ...state, head_seq: seq, head_hash: hash };
    const mac = stateMac(key, next);
    const { metrics, labels, counts } = countedSignals(signals);
    const network = signals.some(isAuthenticationFailure) ? (networkOf(row.ip) ?? null) : null;
    const written = await appendIfHead(
      db,
      seq,
      hash,
      mac,
      row.at,
      state.head_seq,
      state.head_hash,
      previousMac,
      row.id,
      row.at,
      row.type,
      row.outcome,
      row.actor_id,
      row.subject_id,
      row.ip,
      row.user_agent,
      row.detail,
      personal.personal_salt,
      personal.personal_commitment,
      hourOf(row.at),
      metrics,
      labels,
      counts,
      network,
    );
    if (written.length !== 1) return false;
    known = { ...next, state_mac: mac };
    return true;
  };

  const appendAlone = async (row: PlainAuditRow, signals: readonly SecuritySignal[]): Promise<void> => {
    try {
      for (let tries = 0; tries < maximumTries; tries += 1) {
        const state = known ?? (await chainState(db))[0];
        // Rows from before the chain to seal, or a state never written by the chain yet: the general way does both.
        if (state === undefined || state.legacy_sealed !== 1 || state.state_mac === null) break;
        if (await tryOneStatement(row, signals, state, state.state_mac)) return;
        known = undefined;
      }
    } catch (error) {
      known = undefined;
      throw error;
    }
    await appendInTransaction(row, signals, db);
  };

  return {
    append(row, signals, target = db) {
      if (!oneStatement || target.isTransaction) return appendInTransaction(row, signals, target);
      const appended = queue.then(() => appendAlone(row, signals));
      queue = appended.catch(() => undefined);
      return appended;
    },
  };
}
