// src/accounts/passwords/pwned.ts
// Optional online check against Have I Been Pwned's k-anonymity range API: only the first five
// hex digits of the password's SHA-1 leave the server, and padding hides the answer's true size.
// When the API cannot be reached in time, the answer is "unknown": the caller proceeds and warns.

import { createHash } from 'node:crypto';

export type PwnedAnswer = { readonly status: 'found'; readonly count: number } | { readonly status: 'not-found' } | { readonly status: 'unknown'; readonly reason: string };

export interface PwnedChecker {
  check(normalisedPassword: string): Promise<PwnedAnswer>;
}

export interface PwnedOptions {
  /** Base URL; the five-digit prefix is appended (https://api.pwnedpasswords.com/range/). */
  readonly rangeUrl: string;
  readonly timeoutMs: number;
  /** Injectable for tests; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
}

/** A range answer is about 800 lines of 40 bytes; anything far larger is not the API talking. */
const maximumBodyBytes = 2 * 1024 * 1024;

export function createPwnedChecker(options: PwnedOptions): PwnedChecker {
  const doFetch = options.fetch ?? fetch;
  return {
    async check(normalisedPassword) {
      const sha1 = createHash('sha1').update(normalisedPassword, 'utf8').digest('hex').toUpperCase();
      const prefix = sha1.slice(0, 5);
      const suffix = sha1.slice(5);
      let body: string;
      try {
        const response = await doFetch(`${options.rangeUrl}${prefix}`, {
          headers: { 'Add-Padding': 'true', 'User-Agent': 'Portcullis password policy' },
          signal: AbortSignal.timeout(options.timeoutMs),
          redirect: 'error',
        });
        if (!response.ok) return { status: 'unknown', reason: `the range API answered ${response.status}` };
        body = await response.text();
      } catch (error) {
        const reason = error instanceof Error && error.name === 'TimeoutError' ? 'the range API did not answer in time' : 'the range API could not be reached';
        return { status: 'unknown', reason };
      }
      if (body.length > maximumBodyBytes) return { status: 'unknown', reason: 'the range API answer was too large' };
      for (const line of body.split('\n')) {
        const [candidate, count] = line.trim().split(':');
        // Padding lines carry a count of 0: they are not breached passwords.
        if (candidate === suffix && count !== undefined && Number(count) > 0) return { status: 'found', count: Number(count) };
      }
      return { status: 'not-found' };
    },
  };
}
