// src/accounts/passwords/strength.ts
// zxcvbn-ts strength estimates, computed off the main thread (see strength-worker.ts for why).
// One worker, started on first use, kept while there is work and never keeping the process alive.

import { Worker } from 'node:worker_threads';
import type { StrengthAnswer, StrengthRequest } from './strength-worker.js';

export interface StrengthEstimate {
  /** 0 (too guessable) to 4 (very unguessable). */
  readonly score: number;
  /** zxcvbn's plain-English warning, when it has one. */
  readonly warning: string | null;
  readonly suggestions: readonly string[];
}

export interface StrengthEstimator {
  estimate(password: string, userInputs: readonly string[]): Promise<StrengthEstimate>;
  close(): Promise<void>;
}

interface Pending {
  resolve(answer: StrengthEstimate): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** A generous bound: a check takes well under a second; past this the worker is presumed stuck. */
const jobTimeoutMs = 15_000;

export function createStrengthEstimator(): StrengthEstimator {
  let worker: Worker | undefined;
  let nextId = 1;
  const pending = new Map<number, Pending>();

  const failAll = (error: Error) => {
    for (const job of pending.values()) {
      clearTimeout(job.timer);
      job.reject(error);
    }
    pending.clear();
  };

  const start = (): Worker => {
    const started = new Worker(new URL('./strength-worker.js', import.meta.url));
    started.on('message', (answer: StrengthAnswer) => {
      const job = pending.get(answer.id);
      if (job === undefined) return;
      pending.delete(answer.id);
      clearTimeout(job.timer);
      if (pending.size === 0) started.unref();
      job.resolve({ score: answer.score, warning: answer.warning, suggestions: answer.suggestions });
    });
    started.on('error', (error) => {
      failAll(error);
    });
    started.on('exit', () => {
      if (worker === started) worker = undefined;
      failAll(new Error('the password strength worker stopped'));
    });
    started.unref();
    return started;
  };

  return {
    estimate(password, userInputs) {
      worker ??= start();
      const current = worker;
      const id = nextId++;
      return new Promise<StrengthEstimate>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error('the password strength check timed out'));
          // A stuck worker is replaced; the next estimate starts a fresh one.
          void current.terminate();
        }, jobTimeoutMs);
        timer.unref();
        pending.set(id, { resolve, reject, timer });
        // Referenced while it has work, so an awaiting caller is not left behind by a process exit.
        current.ref();
        const request: StrengthRequest = { id, password, userInputs };
        current.postMessage(request);
      });
    },
    async close() {
      const current = worker;
      worker = undefined;
      if (current !== undefined) await current.terminate();
    },
  };
}
