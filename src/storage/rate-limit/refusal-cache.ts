// src/storage/rate-limit/refusal-cache.ts
// The 429 path is what an attacker hits, so it must be cheap (issue 8). Counters are fixed windows
// that only grow until the window ends, so once the shared store has said that a key is over its
// limit, every further request with that key is refused until the window's end whatever any
// instance does meanwhile. This decorator remembers such keys in process memory and answers their
// requests without a database write or a Redis round trip; the shared count is asked again once
// the window has ended. Refusals are exactly the ones the store would have given.

import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from 'express-rate-limit';

interface Refusal {
  /** Hits seen so far (the shared count when the key went over, plus the local refusals since). */
  hits: number;
  readonly resetAt: number;
}

/** Keys remembered at most; each must first have gone over its limit, so this is rarely reached. */
const defaultCapacity = 10_000;

export class RefusalCachingStore implements Store {
  readonly #inner: Store;
  readonly #now: () => number;
  readonly #capacity: number;
  readonly #refused = new Map<string, Refusal>();
  #limit: number | undefined;

  constructor(inner: Store, now: () => number = Date.now, capacity = defaultCapacity) {
    this.#inner = inner;
    this.#now = now;
    this.#capacity = capacity;
  }

  // express-rate-limit checks these two to catch one store shared by several limiters.
  get prefix(): string | undefined {
    return this.#inner.prefix;
  }

  get localKeys(): boolean {
    return this.#inner.localKeys ?? false;
  }

  init(options: Options): void | Promise<void> {
    // A limit computed per request cannot be known here: then nothing is remembered.
    this.#limit = typeof options.limit === 'number' ? options.limit : undefined;
    // express-rate-limit itself handles (and logs) an initialisation that fails later.
    return this.#inner.init?.(options);
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    return this.#inner.get?.(key);
  }

  async increment(key: string): Promise<IncrementResponse> {
    const now = this.#now();
    const refused = this.#refused.get(key);
    if (refused !== undefined) {
      if (now < refused.resetAt) {
        refused.hits += 1;
        return { totalHits: refused.hits, resetTime: new Date(refused.resetAt) };
      }
      this.#refused.delete(key);
    }
    const answer = await this.#inner.increment(key);
    const resetAt = answer.resetTime?.getTime();
    if (this.#limit !== undefined && answer.totalHits > this.#limit && resetAt !== undefined && resetAt > now) this.#remember(key, answer.totalHits, resetAt, now);
    return answer;
  }

  /**
   * The remembered refusal of `key`, counted as one more hit, or undefined when the key is not
   * known to be over its limit. Lets a limiter refuse at once, without the asynchronous round of
   * express-rate-limit (security/rate-limit.ts); the counts stay the ones increment() reports.
   */
  refusalOf(key: string): { readonly totalHits: number; readonly resetAt: number } | undefined {
    const refused = this.#refused.get(key);
    if (refused === undefined) return undefined;
    if (this.#now() >= refused.resetAt) {
      this.#refused.delete(key);
      return undefined;
    }
    refused.hits += 1;
    return { totalHits: refused.hits, resetAt: refused.resetAt };
  }

  async decrement(key: string): Promise<void> {
    this.#refused.delete(key);
    await this.#inner.decrement(key);
  }

  async resetKey(key: string): Promise<void> {
    this.#refused.delete(key);
    await this.#inner.resetKey(key);
  }

  /** The inner store's own shutdown (a batching store writes its pending hits). */
  async shutdown(): Promise<void> {
    await this.#inner.shutdown?.();
  }

  /** How many keys are remembered (for tests). */
  get size(): number {
    return this.#refused.size;
  }

  #remember(key: string, hits: number, resetAt: number, now: number): void {
    if (this.#refused.size >= this.#capacity) {
      for (const [other, entry] of this.#refused) if (entry.resetAt <= now) this.#refused.delete(other);
      // Still full: the store keeps answering for the others, exactly as before.
      if (this.#refused.size >= this.#capacity) return;
    }
    this.#refused.set(key, { hits, resetAt });
  }
}
