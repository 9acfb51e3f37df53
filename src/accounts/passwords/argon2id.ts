// src/accounts/passwords/argon2id.ts
// Argon2id with OWASP's parameters (m=19 MiB, t=2, p=1). The pepper goes in as Argon2's "secret"
// (keyed hashing built into the algorithm), so a stolen database alone cannot be attacked.
// The argon2 binding hashes on libuv's thread pool: the event loop never waits on it.

import argon2 from 'argon2';

export interface Argon2Parameters {
  readonly memoryKiB: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

function cost(parameters: Argon2Parameters) {
  return { memoryCost: parameters.memoryKiB, timeCost: parameters.timeCost, parallelism: parameters.parallelism };
}

export function hashArgon2id(normalisedPassword: string, pepper: Buffer, parameters: Argon2Parameters): Promise<string> {
  return argon2.hash(normalisedPassword, { type: argon2.argon2id, ...cost(parameters), secret: pepper });
}

export async function verifyArgon2id(normalisedPassword: string, pepper: Buffer, inner: string): Promise<boolean> {
  try {
    return await argon2.verify(inner, normalisedPassword, { secret: pepper });
  } catch {
    // A malformed stored string is a failed verification, not a crash of the sign-in.
    return false;
  }
}

export function argon2NeedsRehash(inner: string, parameters: Argon2Parameters): boolean {
  try {
    return argon2.needsRehash(inner, cost(parameters));
  } catch {
    return true;
  }
}
