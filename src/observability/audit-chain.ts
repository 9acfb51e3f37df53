// src/observability/audit-chain.ts
// The audit trail as a hash chain (practice 8: prove afterwards what happened). Every row carries
// its place (seq) and an HMAC-SHA-256, under a key derived from the master key, over its canonical
// content and the previous row's hash. A row changed, inserted or removed breaks the chain at that
// row, and without the key nobody can write a chain that verifies, not even with write access to
// the database (a stolen database password, an SQL injection elsewhere).
//
// Appends are serialised: each one first UPDATEs the single audit_chain row, which takes SQLite's
// write lock or PostgreSQL's row lock for the rest of the transaction, then reads the head. Two
// instances therefore never append after the same head (and the unique index on seq would refuse
// it if they did).
//
// Personal data and anonymisation: ip, user agent and detail are not hashed into the chain
// directly. The row hashes a commitment, SHA-256(salt, ip, user agent, detail), with a random
// per-row salt kept beside it. Deleting an account clears those fields and the salt: the chain
// still verifies, the commitment says nothing about what was there (the salt is gone, so it
// cannot be used to confirm a guessed address), and verify checks that every anonymised row
// belongs to an account whose deletion is itself in the trail.
//
// Retention moves the anchor: the oldest rows are deleted and the chain state remembers the last
// deleted row's seq and hash, so the first remaining row still links to something verifiable.
// The chain state (anchor and head) carries a MAC too: truncating the end of the trail or
// forging the anchor by hand is detected.

import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { deriveKey } from '../security/keys.js';
import type { AuditEventsTable, Database } from '../storage/schema.js';

type Queryable = Kysely<Database> | Transaction<Database>;

/** The "previous hash" of the first row ever written. */
export const genesisHash = '0'.repeat(64);

const rowVersion = 'pc-audit-v1';
const stateVersion = 'pc-audit-state-v1';

/** The chain's key: HKDF from the master key, used for nothing else. */
export function auditChainKey(masterKey: Buffer): Buffer {
  return deriveKey(masterKey, 'audit-chain');
}

/** The columns an audit row has before it is chained. */
export interface PlainAuditRow {
  readonly id: string;
  readonly at: number;
  readonly type: string;
  readonly outcome: 'success' | 'failure';
  readonly actor_id: string | null;
  readonly subject_id: string | null;
  readonly ip: string | null;
  readonly user_agent: string | null;
  readonly detail: string | null;
}

/** A commitment to the personal fields; with the salt gone it reveals nothing about them. */
export function personalCommitment(salt: string, ip: string | null, userAgent: string | null, detail: string | null): string {
  return createHash('sha256').update(`${salt}\n${JSON.stringify([ip, userAgent, detail])}`, 'utf8').digest('hex');
}

/** The fields a row's hash covers, besides the previous hash. */
export interface HashedFields {
  readonly seq: number;
  readonly id: string;
  readonly at: number;
  readonly type: string;
  readonly outcome: string;
  readonly actor_id: string | null;
  readonly subject_id: string | null;
  readonly personal_commitment: string | null;
}

export function rowHash(key: Buffer, row: HashedFields, previousHash: string): string {
  const canonical = JSON.stringify([rowVersion, row.seq, row.id, row.at, row.type, row.outcome, row.actor_id, row.subject_id, row.personal_commitment, previousHash]);
  return createHmac('sha256', key).update(canonical, 'utf8').digest('hex');
}

export interface ChainState {
  readonly anchor_seq: number;
  readonly anchor_hash: string;
  readonly anchor_at: number | null;
  readonly head_seq: number;
  readonly head_hash: string;
  readonly legacy_sealed: number;
  readonly pruned_total: number;
  readonly state_mac: string | null;
}

/** The columns of the chain's state row that make a ChainState. */
export const chainStateColumns = ['anchor_seq', 'anchor_hash', 'anchor_at', 'head_seq', 'head_hash', 'legacy_sealed', 'pruned_total', 'state_mac'] as const;

export function stateMac(key: Buffer, state: Omit<ChainState, 'state_mac' | 'pruned_total'>): string {
  const canonical = JSON.stringify([stateVersion, state.anchor_seq, state.anchor_hash, state.anchor_at, state.head_seq, state.head_hash, state.legacy_sealed]);
  return createHmac('sha256', key).update(canonical, 'utf8').digest('hex');
}

/** A fresh salt and the commitment it makes for a row's personal fields. */
export function commitPersonalFields(row: Pick<PlainAuditRow, 'ip' | 'user_agent' | 'detail'>): { personal_salt: string; personal_commitment: string } {
  const salt = randomBytes(16).toString('hex');
  return { personal_salt: salt, personal_commitment: personalCommitment(salt, row.ip, row.user_agent, row.detail) };
}

/**
 * Takes the chain's lock for the rest of the transaction and returns its state, in one statement
 * (one round trip less for every audited event: issue 8). It is an UPDATE on purpose: on SQLite it
 * makes this transaction the writer before anything is read; on PostgreSQL it holds the row lock
 * until the transaction ends. RETURNING reads the row as locked.
 */
export async function lockChain(trx: Transaction<Database>): Promise<ChainState> {
  const state = await trx
    .updateTable('audit_chain')
    .set((eb) => ({ head_seq: eb.ref('head_seq') }))
    .where('id', '=', 1)
    .returning(chainStateColumns)
    .executeTakeFirst();
  if (state === undefined) throw new Error('audit chain: the chain state row is missing (run the migrations)');
  return state;
}

async function saveState(trx: Transaction<Database>, key: Buffer, state: Omit<ChainState, 'state_mac'>, now: number): Promise<ChainState> {
  const mac = stateMac(key, state);
  await trx
    .updateTable('audit_chain')
    .set({
      anchor_seq: state.anchor_seq,
      anchor_hash: state.anchor_hash,
      anchor_at: state.anchor_at,
      head_seq: state.head_seq,
      head_hash: state.head_hash,
      legacy_sealed: state.legacy_sealed,
      pruned_total: state.pruned_total,
      state_mac: mac,
      updated_at: now,
    })
    .where('id', '=', 1)
    .execute();
  return { ...state, state_mac: mac };
}

/**
 * Rows written before the chain existed (migration 006) get their places once, oldest first, the
 * first time anything is appended (or at server start). Afterwards a row without a place can only
 * have been inserted behind the application's back, and verify says so.
 */
async function sealLegacy(trx: Transaction<Database>, key: Buffer, state: ChainState, now: number): Promise<ChainState> {
  let headSeq = state.head_seq;
  let headHash = state.head_hash;
  for (;;) {
    const batch = await trx.selectFrom('audit_events').selectAll().where('seq', 'is', null).orderBy('at').orderBy('id').limit(1000).execute();
    for (const row of batch) {
      const personal = commitPersonalFields(row);
      headSeq += 1;
      headHash = rowHash(key, { ...row, seq: headSeq, personal_commitment: personal.personal_commitment }, headHash);
      await trx.updateTable('audit_events').set({ seq: headSeq, hash: headHash, ...personal }).where('id', '=', row.id).execute();
    }
    if (batch.length < 1000) break;
  }
  return saveState(trx, key, { ...state, head_seq: headSeq, head_hash: headHash, legacy_sealed: 1 }, now);
}

/** Runs `work` in a transaction holding the chain's lock: `target`'s when it is one, else a new one. */
export async function withChainLock<T>(db: Kysely<Database>, target: Queryable, work: (trx: Transaction<Database>, state: ChainState) => Promise<T>): Promise<T> {
  const run = async (trx: Transaction<Database>) => work(trx, await lockChain(trx));
  return target.isTransaction ? run(target as Transaction<Database>) : db.transaction().execute(run);
}

/** Seals rows written before the chain existed; a no-op once done. Returns how many were sealed. */
export async function sealLegacyAuditRows(db: Kysely<Database>, key: Buffer, now = Date.now()): Promise<number> {
  return withChainLock(db, db, async (trx, state) => {
    if (state.legacy_sealed === 1) return 0;
    const sealed = await sealLegacy(trx, key, state, now);
    return sealed.head_seq - state.head_seq;
  });
}

/**
 * Appends one row at the head of the chain. Call inside withChainLock (the state it passes is the
 * head to append after). Returns the chain's new state (its head is the row's place and hash).
 */
export async function appendLocked(trx: Transaction<Database>, key: Buffer, locked: ChainState, row: PlainAuditRow, now: number): Promise<ChainState> {
  const state = locked.legacy_sealed === 1 ? locked : await sealLegacy(trx, key, locked, now);
  const personal = commitPersonalFields(row);
  const seq = state.head_seq + 1;
  const hash = rowHash(key, { ...row, seq, personal_commitment: personal.personal_commitment }, state.head_hash);
  await trx.insertInto('audit_events').values({ ...row, seq, hash, ...personal }).execute();
  return saveState(trx, key, { ...state, head_seq: seq, head_hash: hash }, now);
}

// ---------------------------------------------------------------------------------------------
// Verification

export type ChainProblemKind = 'changed' | 'inserted' | 'removed' | 'state';

export interface ChainProblem {
  readonly kind: ChainProblemKind;
  /** The row's place in the chain (for removals: the first missing place). */
  readonly seq: number | null;
  /** The row's id, when there is a row to name. */
  readonly id: string | null;
  readonly message: string;
}

export interface ChainReport {
  readonly ok: boolean;
  /** Rows whose hash was checked. */
  readonly checked: number;
  readonly anchorSeq: number;
  readonly headSeq: number;
  readonly headHash: string;
  /** Rows written before the chain existed and not sealed yet (before the first append). */
  readonly unsealed: number;
  /** In chain order; at most `maxProblems`. The first one is the first place the chain breaks. */
  readonly problems: readonly ChainProblem[];
}

type StoredRow = Pick<AuditEventsTable, 'id' | 'at' | 'type' | 'outcome' | 'actor_id' | 'subject_id' | 'ip' | 'user_agent' | 'detail' | 'seq' | 'hash' | 'personal_salt' | 'personal_commitment'>;

const pageSize = 2000;
const maxProblems = 100;

/** Pages through the chained rows in seq order, with one row of look-ahead. */
class ChainCursor {
  #buffer: StoredRow[] = [];
  #after: number;
  #done = false;
  constructor(
    private readonly db: Kysely<Database>,
    after: number,
  ) {
    this.#after = after;
  }
  async #fill(): Promise<void> {
    if (this.#done) return;
    const rows = await this.db
      .selectFrom('audit_events')
      .select(['id', 'at', 'type', 'outcome', 'actor_id', 'subject_id', 'ip', 'user_agent', 'detail', 'seq', 'hash', 'personal_salt', 'personal_commitment'])
      .where('seq', 'is not', null)
      .where('seq', '>', this.#after)
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    if (rows.length < pageSize) this.#done = true;
    const last = rows.at(-1);
    if (last?.seq != null) this.#after = last.seq;
    this.#buffer.push(...rows);
  }
  async peek(offset = 0): Promise<StoredRow | undefined> {
    while (this.#buffer.length <= offset && !this.#done) await this.#fill();
    return this.#buffer.at(offset);
  }
  async next(): Promise<StoredRow | undefined> {
    const row = await this.peek();
    if (row !== undefined) this.#buffer.shift();
    return row;
  }
}

function describe(row: { seq: number | null; id: string; at: number; type: string }): string {
  return `row seq ${row.seq ?? 'none'} (id ${row.id}, ${row.type} at ${new Date(row.at).toISOString()})`;
}

function hashOf(key: Buffer, row: StoredRow, seq: number, previousHash: string): string {
  return rowHash(key, { ...row, seq, personal_commitment: row.personal_commitment }, previousHash);
}

/**
 * Walks the chain from its anchor to its head and reports where it breaks. A row whose content
 * no longer matches its hash was changed; a gap in the sequence is a removal; a row without a
 * place, beyond the head, before the anchor, or one whose successors verify only when it is
 * skipped (the rest renumbered to make room) was inserted.
 */
export async function verifyAuditChain(db: Kysely<Database>, key: Buffer): Promise<ChainReport> {
  const state = await db.selectFrom('audit_chain').selectAll().where('id', '=', 1).executeTakeFirst();
  if (state === undefined) {
    return { ok: false, checked: 0, anchorSeq: 0, headSeq: 0, headHash: genesisHash, unsealed: 0, problems: [{ kind: 'state', seq: null, id: null, message: 'the chain state row is missing' }] };
  }
  const problems: ChainProblem[] = [];
  const report = (problem: ChainProblem) => {
    if (problems.length < maxProblems) problems.push(problem);
  };

  const stateIntact = state.state_mac === null ? state.head_seq === 0 && state.anchor_seq === 0 : state.state_mac === stateMac(key, state);

  const cursor = new ChainCursor(db, Number.MIN_SAFE_INTEGER);
  let expected = state.anchor_seq + 1;
  let previousHash = state.anchor_hash;
  let previousRow: StoredRow | undefined;
  // Rows found to have been inserted by renumbering: later rows' real places are this much lower.
  let shift = 0;
  let checked = 0;
  const anonymised: StoredRow[] = [];
  const deletedAccounts = new Set<string>();

  for (let row = await cursor.next(); row !== undefined; row = await cursor.next()) {
    const storedSeq = row.seq ?? 0;
    if (row.type === 'account_deleted' && row.subject_id !== null) deletedAccounts.add(row.subject_id);
    if (storedSeq <= state.anchor_seq) {
      report({ kind: 'inserted', seq: storedSeq, id: row.id, message: `${describe(row)} was inserted: it lies before the chain's anchor (seq ${state.anchor_seq})` });
      continue;
    }
    const seq = storedSeq - shift;
    if (seq > state.head_seq) {
      report({ kind: 'inserted', seq: storedSeq, id: row.id, message: `${describe(row)} was inserted after the chain's recorded head (seq ${state.head_seq})` });
      continue;
    }
    let linkKnown = true;
    if (seq > expected) {
      const between = previousRow === undefined ? `before ${describe(row)}` : `between ${describe(previousRow)} and ${describe(row)}`;
      const range = seq - expected === 1 ? `row seq ${expected} was` : `rows seq ${expected} to ${seq - 1} were`;
      report({ kind: 'removed', seq: expected, id: null, message: `${range} removed, ${between}` });
      // This row's hash covers the missing row's hash, which is gone: its link cannot be checked.
      linkKnown = false;
    }
    checked += 1;
    if (linkKnown && row.hash !== hashOf(key, row, seq, previousHash)) {
      // Inserted with the rest renumbered? Then the next row verifies in this row's place.
      const following = await cursor.peek();
      const followingSeq = (following?.seq ?? 0) - shift - 1;
      if (following !== undefined && following.hash === hashOf(key, following, followingSeq, previousHash)) {
        report({ kind: 'inserted', seq: storedSeq, id: row.id, message: `${describe(row)} was inserted (the rows after it were renumbered to make room)` });
        shift += 1;
        continue;
      }
      report({ kind: 'changed', seq: storedSeq, id: row.id, message: `${describe(row)} was changed: its content no longer matches its hash` });
    } else if (row.personal_salt !== null) {
      if (row.personal_commitment !== personalCommitment(row.personal_salt, row.ip, row.user_agent, row.detail)) {
        report({ kind: 'changed', seq: storedSeq, id: row.id, message: `${describe(row)} was changed: its address, user agent or detail no longer match their commitment` });
      }
    } else if (row.ip !== null || row.user_agent !== null || row.detail !== null) {
      report({ kind: 'changed', seq: storedSeq, id: row.id, message: `${describe(row)} was changed: it carries personal data but its commitment salt was removed` });
    } else {
      anonymised.push(row);
    }
    previousHash = row.hash ?? '';
    previousRow = row;
    expected = seq + 1;
  }

  if (expected - 1 < state.head_seq) {
    const after = previousRow === undefined ? 'after the anchor' : `after ${describe(previousRow)}`;
    report({ kind: 'removed', seq: expected, id: null, message: `rows seq ${expected} to ${state.head_seq} were removed ${after} (the chain's head is seq ${state.head_seq})` });
  } else if (expected - 1 === state.head_seq && previousRow !== undefined && previousHash !== state.head_hash) {
    report({ kind: 'state', seq: state.head_seq, id: previousRow.id, message: `the last row's hash differs from the head the chain recorded` });
  }
  // Anonymising is only legitimate as part of deleting the account (accounts/profile.ts).
  for (const row of anonymised) {
    const owners = [row.actor_id, row.subject_id].filter((owner) => owner !== null);
    if (!owners.some((owner) => deletedAccounts.has(owner))) {
      report({ kind: 'changed', seq: row.seq, id: row.id, message: `${describe(row)} was changed: its personal data was cleared, but no account deletion in the trail explains it` });
    }
  }
  if (!stateIntact) report({ kind: 'state', seq: null, id: null, message: "the chain's anchor or head was edited by hand (its MAC does not match)" });

  const unplaced = await db.selectFrom('audit_events').select(['id', 'at', 'type', 'seq']).where('seq', 'is', null).orderBy('at').limit(maxProblems).execute();
  const unsealedCount = state.legacy_sealed === 1 ? 0 : Number((await db.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).where('seq', 'is', null).executeTakeFirst())?.n ?? 0);
  if (state.legacy_sealed === 1) {
    for (const row of unplaced) report({ kind: 'inserted', seq: null, id: row.id, message: `${describe(row)} was inserted: it has no place in the chain` });
  }
  // Chain order first: removals and changes before state-level findings.
  const ordered = [...problems].sort((left, right) => (left.seq ?? Number.MAX_SAFE_INTEGER) - (right.seq ?? Number.MAX_SAFE_INTEGER));
  return { ok: ordered.length === 0, checked, anchorSeq: state.anchor_seq, headSeq: state.head_seq, headHash: state.head_hash, unsealed: unsealedCount, problems: ordered };
}

// ---------------------------------------------------------------------------------------------
// Retention

export interface PruneOutcome {
  readonly removed: number;
  readonly anchorSeq: number;
}

/**
 * Deletes the oldest rows, those before `cutoffAt`, as a prefix of the chain: the chain keeps
 * everything from the first row at or after the cutoff, and the anchor moves to the last row
 * deleted. A chain that is already broken at the anchor is left alone (and reported).
 */
export async function pruneAuditTrail(db: Kysely<Database>, key: Buffer, cutoffAt: number, now = Date.now()): Promise<PruneOutcome> {
  return withChainLock(db, db, async (trx, state) => {
    const firstKept = await trx.selectFrom('audit_events').select((eb) => eb.fn.min('seq').as('seq')).where('seq', 'is not', null).where('at', '>=', cutoffAt).executeTakeFirst();
    const lastPruned = firstKept?.seq == null ? state.head_seq : firstKept.seq - 1;
    if (lastPruned <= state.anchor_seq) return { removed: 0, anchorSeq: state.anchor_seq };
    const anchorRow = await trx.selectFrom('audit_events').select(['seq', 'hash', 'at']).where('seq', '=', lastPruned).executeTakeFirst();
    if (anchorRow?.hash == null) throw new Error(`audit chain: row seq ${lastPruned} is missing; run "portcullis audit verify" before pruning`);
    const result = await trx.deleteFrom('audit_events').where('seq', '<=', lastPruned).where('seq', '>', state.anchor_seq).executeTakeFirst();
    const removed = Number(result.numDeletedRows);
    await saveState(trx, key, { ...state, anchor_seq: lastPruned, anchor_hash: anchorRow.hash, anchor_at: anchorRow.at, pruned_total: state.pruned_total + removed }, now);
    return { removed, anchorSeq: lastPruned };
  });
}

// ---------------------------------------------------------------------------------------------
// Export

export interface ExportedAuditEvent {
  readonly seq: number | null;
  readonly id: string;
  readonly at: string;
  readonly type: string;
  readonly outcome: string;
  readonly actorId: string | null;
  readonly subjectId: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly detail: unknown;
  readonly hash: string | null;
  readonly personalCommitment: string | null;
  /** True once the account's deletion cleared the personal fields. */
  readonly anonymised: boolean;
}

/** The chained rows at or after `sinceAt`, in chain order, a page at a time. */
export async function* exportAuditEvents(db: Kysely<Database>, sinceAt: number): AsyncGenerator<ExportedAuditEvent> {
  let after = Number.MIN_SAFE_INTEGER;
  for (;;) {
    const rows = await db.selectFrom('audit_events').selectAll().where('seq', 'is not', null).where('seq', '>', after).where('at', '>=', sinceAt).orderBy('seq').limit(pageSize).execute();
    for (const row of rows) {
      let detail: unknown = null;
      if (row.detail !== null) {
        try {
          detail = JSON.parse(row.detail);
        } catch {
          detail = row.detail;
        }
      }
      yield {
        seq: row.seq,
        id: row.id,
        at: new Date(row.at).toISOString(),
        type: row.type,
        outcome: row.outcome,
        actorId: row.actor_id,
        subjectId: row.subject_id,
        ip: row.ip,
        userAgent: row.user_agent,
        detail,
        hash: row.hash,
        personalCommitment: row.personal_commitment,
        anonymised: row.personal_salt === null,
      };
    }
    const last = rows.at(-1);
    if (rows.length < pageSize || last?.seq == null) return;
    after = last.seq;
  }
}
