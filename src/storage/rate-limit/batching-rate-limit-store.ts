// src/storage/rate-limit/batching-rate-limit-store.ts
// The general per-address limit in the shared store (the database or Redis), counted in batches
// (issue 8). One write per request was the largest single cost of a Portcullis request on SQLite
// (about a quarter of the CPU of the public page), and on Redis a third round trip for every
// signed-in page, for a limit that only has to stop floods, not count exactly. So each instance
// counts a key's hits in memory and adds them to the shared counter in one write (an increment by
// N): when a batch is full, or at most `intervalMs` after the first hit waiting.
//
// The answer for a request is the last shared total this instance was told plus its own hits the
// store has not acknowledged yet (never less than the truth: what others added meanwhile is
// missing, nothing of ours is). A key's first hit, a hit after its window ended, and the hit that
// fills a batch are written before answering (the batch's hits with it), so the window's end is
// the store's and every instance is told the shared total at least once per batch.
//
// Bounded overshoot: a hit is answered from memory only while fewer than `batch` hits of its key
// are unacknowledged on this instance. Once the shared total passes the limit, every instance
// learns it from its next acknowledged write, and until then has admitted at most `batch - 1`
// hits the others did not know of. So a key is admitted at most `limit + instances × (batch - 1)`
// times in a window; with the default general limit (300 per 15 minutes) and batch size (20,
// see batchSizeFor) that is 19 more per instance. The sign-in, sign-up and email limits never go
// through this store: they stay exact (one statement or Redis script per request).

import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from 'express-rate-limit';
import { unavailableOnFailure } from '../../errors/unavailable.js';
import type { WindowCounters } from './kysely-rate-limit-store.js';

/** The shared counters this store needs (database or Redis): WindowCounters with an increment by more than one. */
export type BatchCounters = Pick<WindowCounters, 'get' | 'decrement' | 'reset'> & {
  incrementBy(key: string, windowMs: number, by: number): Promise<{ hits: number; resetAt: number }>;
};

export interface BatchingOptions {
  /** How long a hit may wait in memory before it is written (the batch's other bound). */
  readonly intervalMs?: number;
  /** Keys remembered at most; a key beyond this is counted exactly, one write per hit. */
  readonly capacity?: number;
  readonly now?: () => number;
}

/** 10% of the limit, at most 20: the overshoot stays a small share of any limit. 1 = exact. */
export function batchSizeFor(limit: number): number {
  return Math.max(1, Math.min(20, Math.floor(limit / 10)));
}

interface Entry {
  /** The shared total in the last acknowledged write (this window). */
  shared: number;
  /** The window's end, as the database set it. */
  resetAt: number;
  /** Hits counted here and not yet sent. */
  pending: number;
  /** Hits sent and not yet acknowledged. */
  inFlight: number;
}

export class BatchingRateLimitStore implements Store {
  readonly prefix: string;
  /** The counts that matter live in the shared database. */
  readonly localKeys = false;
  readonly #counters: BatchCounters;
  readonly #intervalMs: number;
  readonly #capacity: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  /** Keys with pending hits (what the timer writes). */
  readonly #dirty = new Set<string>();
  readonly #writes = new Set<Promise<unknown>>();
  #windowMs = 60_000;
  #batch = 1;
  #timer: NodeJS.Timeout | undefined;

  constructor(counters: BatchCounters, prefix: string, options: BatchingOptions = {}) {
    this.#counters = counters;
    this.prefix = prefix;
    this.#intervalMs = options.intervalMs ?? 250;
    this.#capacity = options.capacity ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  init(options: Options): void {
    this.#windowMs = options.windowMs;
    // A limit computed per request has no fixed share to batch: count it exactly.
    this.#batch = typeof options.limit === 'number' ? batchSizeFor(options.limit) : 1;
  }

  /** The batch size in use (for tests and the documentation's figure). */
  get batchSize(): number {
    return this.#batch;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const entry = this.#entries.get(key);
    if (entry !== undefined && this.#now() < entry.resetAt) return { totalHits: entry.shared + entry.pending + entry.inFlight, resetTime: new Date(entry.resetAt) };
    const found = await unavailableOnFailure(this.#counters.get(this.prefix + key));
    return found === undefined ? undefined : { totalHits: found.hits, resetTime: new Date(found.resetAt) };
  }

  async increment(key: string): Promise<IncrementResponse> {
    // A batch of 1 (a small limit) is the exact store: one write per hit.
    if (this.#batch <= 1) return this.#exact(key);
    const now = this.#now();
    let entry = this.#entries.get(key);
    if (entry !== undefined && now >= entry.resetAt) {
      // The window ended: hits still waiting belonged to it and count for nothing now.
      entry.pending = 0;
      this.#dirty.delete(key);
    }
    if (entry === undefined || now >= entry.resetAt || entry.pending + entry.inFlight + 1 >= this.#batch) {
      // Too many keys remembered: this one is counted exactly.
      if (entry === undefined && !this.#makeRoom(now)) return this.#exact(key);
      entry ??= { shared: 0, resetAt: 0, pending: 0, inFlight: 0 };
      this.#entries.set(key, entry);
      // This hit and those waiting, written before answering; the answer is the database's own
      // count for this write, as the exact store would give it.
      entry.pending += 1;
      const { hits, resetAt } = await unavailableOnFailure(this.#write(key, entry));
      return { totalHits: hits, resetTime: new Date(resetAt) };
    }
    entry.pending += 1;
    this.#dirty.add(key);
    this.#schedule();
    return { totalHits: entry.shared + entry.pending + entry.inFlight, resetTime: new Date(entry.resetAt) };
  }

  async #exact(key: string): Promise<IncrementResponse> {
    const { hits, resetAt } = await unavailableOnFailure(this.#counters.incrementBy(this.prefix + key, this.#windowMs, 1));
    return { totalHits: hits, resetTime: new Date(resetAt) };
  }

  async decrement(key: string): Promise<void> {
    const entry = this.#entries.get(key);
    if (entry !== undefined && entry.pending > 0) {
      entry.pending -= 1;
      return;
    }
    await unavailableOnFailure(this.#counters.decrement(this.prefix + key));
  }

  async resetKey(key: string): Promise<void> {
    this.#entries.delete(key);
    this.#dirty.delete(key);
    await unavailableOnFailure(this.#counters.reset(this.prefix + key));
  }

  /** Writes every pending hit and waits for the writes under way (the server's close path). */
  async shutdown(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  /** Writes every pending hit now; resolves when every write under way has finished. */
  async flush(): Promise<void> {
    this.#flushDirty();
    while (this.#writes.size > 0) await Promise.allSettled([...this.#writes]);
  }

  /** How many keys are remembered (for tests). */
  get size(): number {
    return this.#entries.size;
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flushDirty();
    }, this.#intervalMs);
    // Pending hits never keep a process alive; the close path writes them (shutdown).
    this.#timer.unref();
  }

  #flushDirty(): void {
    const now = this.#now();
    for (const key of this.#dirty) {
      const entry = this.#entries.get(key);
      if (entry === undefined || entry.pending === 0) continue;
      // A late timer (a busy event loop) must not carry an ended window's hits into a new one: the
      // write would open the next window with them already counted. They count for nothing now.
      // (A write sent just before the end that reaches the store after it still opens the next
      // window with its hits: at most batch - 1 counted too many, on the safe side.)
      if (now >= entry.resetAt) {
        entry.pending = 0;
        continue;
      }
      // A failed write is not retried: the general limit fails open, and a lost batch is at most
      // `batch - 1` hits. Its error is the next exact write's to report.
      this.#write(key, entry).catch(() => undefined);
    }
    this.#dirty.clear();
  }

  /** Sends the entry's pending hits in one upsert and takes the shared total it answers. */
  async #write(key: string, entry: Entry): Promise<{ hits: number; resetAt: number }> {
    const by = entry.pending;
    entry.pending = 0;
    entry.inFlight += by;
    this.#dirty.delete(key);
    const write = this.#counters.incrementBy(this.prefix + key, this.#windowMs, by);
    this.#writes.add(write);
    try {
      const { hits, resetAt } = await write;
      // The same window when its end is about the one known: Redis computes the end from the
      // key's remaining time, so two answers for one window can differ by a millisecond. A new
      // window starts after the last one ended, so its end is about a whole window later.
      const sameWindow = entry.resetAt !== 0 && Math.abs(resetAt - entry.resetAt) < this.#windowMs / 2;
      if (sameWindow) {
        // Writes can be acknowledged out of order: the larger total is the later one.
        entry.shared = Math.max(entry.shared, hits);
      } else if (resetAt > entry.resetAt) {
        // A new window (the first hit, or the store started one): its count starts here.
        entry.resetAt = resetAt;
        entry.shared = hits;
      }
      return { hits, resetAt };
    } finally {
      entry.inFlight -= by;
      this.#writes.delete(write);
    }
  }

  /** True when a new key may be remembered; drops ended windows with nothing waiting first. */
  #makeRoom(now: number): boolean {
    if (this.#entries.size < this.#capacity) return true;
    for (const [key, entry] of this.#entries) {
      if (entry.resetAt <= now && entry.pending === 0 && entry.inFlight === 0) this.#entries.delete(key);
    }
    return this.#entries.size < this.#capacity;
  }
}
