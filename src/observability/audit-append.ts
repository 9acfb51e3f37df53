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
//   its MAC, which covers the anchor too), and inserts the rows and their counts only if it did:
//   data-modifying CTEs, so one snapshot and all or nothing, and the UPDATE's row lock serialises
//   it with every other writer exactly as the general way's lock does;
// - when another instance appended (or pruned) meanwhile nothing is written: the state is read
//   afresh and the append tried again, and after a few misses it goes the general way.
//
// This process's events are written one statement at a time, so they never miss because of one
// another; the events that arrive while a statement is out go together in the next one (group
// commit). So a burst costs a statement, not a statement an event, and when the database stops
// answering, every event waiting fails with the one statement that failed, not one timeout after
// another.

import { PostgresAdapter, sql, type Kysely, type Transaction } from 'kysely';
import { preparedQuery } from '../storage/prepared-query.js';
import type { Database } from '../storage/schema.js';
import { appendLocked, chainStateColumns, commitPersonalFields, rowHash, stateMac, withChainLock, type ChainState, type PlainAuditRow } from './audit-chain.js';
import { countSignals, rollUpSignals, type SignalledEvent } from './rollup.js';
import type { SecuritySignal } from './security-signals.js';

type Queryable = Kysely<Database> | Transaction<Database>;

export interface AuditAppender {
  /** Appends `row` and counts its signals: in `target`'s transaction when it is one (then they commit or roll back with it). */
  append(row: PlainAuditRow, signals: readonly SecuritySignal[], target?: Queryable): Promise<void>;
}

/** Tries of the one-statement append before going the general way (each miss means another writer won). */
const maximumTries = 3;
/** Events in one statement at most: a flood's backlog goes in several, each a bounded size. */
const maximumBatch = 100;

const chainState = preparedQuery(0, (db: Kysely<Database>) =>
  db.selectFrom('audit_chain').select(chainStateColumns).where('id', '=', 1),
);

type Column = readonly (string | null)[];

/**
 * What the one-statement append binds, in order: the state's move, then 20 lists (the rows' 13
 * columns, the rollups' 4, the failure sources' 3), each a column of values.
 */
type AppendArguments = [headSeq: number, headHash: string, mac: string, now: number, previousSeq: number, previousHash: string, previousMac: string, ...lists: Column[]];

// Every value is a parameter (one text for any number of events, so PostgreSQL plans it once per
// connection); numbers travel as text in the lists and are cast back.
const appendIfHead = preparedQuery<Kysely<Database>, { seq: number }, AppendArguments>(
  27,
  (db, headSeq, headHash, mac, now, previousSeq, previousHash, previousMac, ...lists) => {
    const [ids, ats, types, outcomes, actorIds, subjectIds, ips, userAgents, details, seqs, hashes, salts, commitments, ...counts] = lists;
    const [rollupHours, rollupMetrics, rollupLabels, rollupEvents, sourceHours, sourceNetworks, sourceFailures] = counts;
    const query = sql<{ seq: number }>`
      with advanced as (
        update audit_chain set head_seq = ${headSeq}, head_hash = ${headHash}, state_mac = ${mac}, updated_at = ${now}
        where id = 1 and head_seq = ${previousSeq} and head_hash = ${previousHash} and state_mac = ${previousMac}
        returning id
      ), appended as (
        insert into audit_events (id, at, type, outcome, actor_id, subject_id, ip, user_agent, detail, seq, hash, personal_salt, personal_commitment)
        select event.id, event.at, event.type, event.outcome, event.actor_id, event.subject_id, event.ip, event.user_agent, event.detail,
          event.seq, event.hash, event.personal_salt, event.personal_commitment
        from advanced cross join unnest(
          cast(${ids} as varchar[]), cast(${ats} as bigint[]), cast(${types} as varchar[]), cast(${outcomes} as varchar[]),
          cast(${actorIds} as varchar[]), cast(${subjectIds} as varchar[]), cast(${ips} as varchar[]), cast(${userAgents} as varchar[]),
          cast(${details} as text[]), cast(${seqs} as bigint[]), cast(${hashes} as varchar[]), cast(${salts} as varchar[]), cast(${commitments} as varchar[])
        ) as event (id, at, type, outcome, actor_id, subject_id, ip, user_agent, detail, seq, hash, personal_salt, personal_commitment)
        returning seq
      ), counted as (
        insert into security_rollup (hour, metric, label, events)
        select signal.hour, signal.metric, signal.label, signal.events
        from advanced cross join unnest(cast(${rollupHours} as bigint[]), cast(${rollupMetrics} as varchar[]), cast(${rollupLabels} as varchar[]), cast(${rollupEvents} as bigint[]))
          as signal (hour, metric, label, events)
        on conflict (hour, metric, label) do update set events = security_rollup.events + excluded.events
      ), sourced as (
        insert into failure_sources (hour, network, failures)
        select source.hour, source.network, source.failures
        from advanced cross join unnest(cast(${sourceHours} as bigint[]), cast(${sourceNetworks} as varchar[]), cast(${sourceFailures} as bigint[]))
          as source (hour, network, failures)
        on conflict (hour, network) do update set failures = failure_sources.failures + excluded.failures
      )
      select seq from appended`;
    return { compile: () => query.compile(db) };
  },
);

interface Waiting {
  readonly row: PlainAuditRow;
  readonly signals: readonly SecuritySignal[];
  resolve(): void;
  reject(error: unknown): void;
}

type Appended = Pick<Waiting, 'row' | 'signals'>;

/** A batch's events as the rollups count them. */
function signalledEvents(batch: readonly Appended[]): SignalledEvent[] {
  return batch.map(({ row, signals }) => ({ at: row.at, ip: row.ip, signals }));
}

/** A batch's counts as the statement's lists (ON CONFLICT may touch a row only once per statement: countSignals sums them). */
function countLists(batch: readonly Appended[]): Column[] {
  const { rollups, failureSources } = countSignals(signalledEvents(batch));
  return [
    rollups.map((entry) => String(entry.hour)),
    rollups.map((entry) => entry.metric),
    rollups.map((entry) => entry.label),
    rollups.map((entry) => String(entry.events)),
    failureSources.map((entry) => String(entry.hour)),
    failureSources.map((entry) => entry.network),
    failureSources.map((entry) => String(entry.failures)),
  ];
}

export function createAuditAppender(db: Kysely<Database>, key: Buffer): AuditAppender {
  const oneStatement = db.getExecutor().adapter instanceof PostgresAdapter;
  // The chain's state as this process last wrote or read it; undefined when it may be stale.
  let known: ChainState | undefined;
  const waiting: Waiting[] = [];
  let writing = false;

  /** The general way: one transaction holding the chain's lock (the caller's, when `target` is one). */
  const appendInTransaction = async (batch: readonly Appended[], target: Queryable): Promise<void> => {
    known = undefined;
    const written = await withChainLock(db, target, async (trx, locked) => {
      let state = locked;
      for (const { row } of batch) state = await appendLocked(trx, key, state, row, row.at);
      await rollUpSignals(trx, signalledEvents(batch));
      return state;
    });
    // Committed when the transaction was this one's own; a caller's may yet roll back: then the state stays unknown.
    if (!target.isTransaction) known = written;
  };

  /** True when written; false when the state it started from was no longer the chain's head. */
  const tryOneStatement = async (batch: readonly Waiting[], state: ChainState, previousMac: string): Promise<boolean> => {
    const columns: (string | null)[][] = Array.from({ length: 13 }, () => []);
    let seq = state.head_seq;
    let hash = state.head_hash;
    for (const { row } of batch) {
      const personal = commitPersonalFields(row);
      seq += 1;
      hash = rowHash(key, { ...row, seq, personal_commitment: personal.personal_commitment }, hash);
      const values = [row.id, String(row.at), row.type, row.outcome, row.actor_id, row.subject_id, row.ip, row.user_agent, row.detail, String(seq), hash, personal.personal_salt, personal.personal_commitment];
      values.forEach((value, index) => columns.at(index)?.push(value));
    }
    const next = { ...state, head_seq: seq, head_hash: hash };
    const mac = stateMac(key, next);
    const last = batch.at(-1)?.row.at ?? Date.now();
    const written = await appendIfHead(db, seq, hash, mac, last, state.head_seq, state.head_hash, previousMac, ...columns, ...countLists(batch));
    if (written.length !== batch.length) return false;
    known = { ...next, state_mac: mac };
    return true;
  };

  const appendBatch = async (batch: readonly Waiting[]): Promise<void> => {
    try {
      for (let tries = 0; tries < maximumTries; tries += 1) {
        const state = known ?? (await chainState(db))[0];
        // Rows from before the chain to seal, or a state never written by the chain yet: the general way does both.
        if (state === undefined || state.legacy_sealed !== 1 || state.state_mac === null) break;
        if (await tryOneStatement(batch, state, state.state_mac)) return;
        known = undefined;
      }
    } catch (error) {
      known = undefined;
      throw error;
    }
    await appendInTransaction(batch, db);
  };

  /** Writes what is waiting, a batch a statement, until nothing is; one writer at a time. */
  const drain = async (): Promise<void> => {
    if (writing) return;
    writing = true;
    try {
      while (waiting.length > 0) {
        const batch = waiting.splice(0, maximumBatch);
        try {
          await appendBatch(batch);
          for (const entry of batch) entry.resolve();
        } catch (error) {
          for (const entry of batch) entry.reject(error);
        }
      }
    } finally {
      writing = false;
    }
  };

  return {
    append(row, signals, target = db) {
      if (!oneStatement || target.isTransaction) return appendInTransaction([{ row, signals }], target);
      return new Promise<void>((resolve, reject) => {
        waiting.push({ row, signals, resolve, reject });
        void drain();
      });
    },
  };
}
