// src/accounts/passwords/strength-worker.ts
// Runs zxcvbn-ts in a worker thread. Its matching is synchronous and, for long patterned input,
// takes hundreds of milliseconds (measured: 250-600 ms for 64 characters of "p@ssw0rd" repeats),
// which on the main thread would stall every request in flight. Here it only stalls this thread.

import { parentPort } from 'node:worker_threads';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as en from '@zxcvbn-ts/language-en';

export interface StrengthRequest {
  readonly id: number;
  readonly password: string;
  readonly userInputs: readonly string[];
}

export interface StrengthAnswer {
  readonly id: number;
  readonly score: number;
  readonly warning: string | null;
  readonly suggestions: readonly string[];
}

/** Characters zxcvbn looks at; a longer password is judged by its beginning (bounded work). */
export const strengthMaxLength = 64;

const zxcvbn = new ZxcvbnFactory({
  translations: en.translations,
  graphs: common.adjacencyGraphs,
  dictionary: { ...common.dictionary, ...en.dictionary },
  maxLength: strengthMaxLength,
  // Bounds the l33t matcher's combinations, its slowest part; the default is 100.
  l33tMaxSubstitutions: 20,
});

parentPort?.on('message', (request: StrengthRequest) => {
  const result = zxcvbn.check(request.password, [...request.userInputs]);
  const answer: StrengthAnswer = {
    id: request.id,
    score: result.score,
    warning: result.feedback.warning,
    suggestions: result.feedback.suggestions,
  };
  parentPort?.postMessage(answer);
});
