// src/accounts/passwords/hasher.ts
// The PasswordHasher the account service uses: hashes with the configured algorithm, verifies any
// stored scheme, says when a stored hash should be replaced, and gives unknown emails the same cost.

import { randomBytes } from 'node:crypto';
import type { PasswordConfig } from '../../config/config.js';
import { argon2NeedsRehash, hashArgon2id, verifyArgon2id, type Argon2Parameters } from './argon2id.js';
import { hashBcryptHmac, verifyBcryptHmac, verifyLegacyBcrypt } from './bcrypt-hmac.js';
import { argon2idPrefix, bcryptHmacPrefix, parseStoredHash } from './hash-format.js';

export interface Verification {
  readonly valid: boolean;
  /** True when the password was right but the hash was made with other settings: store a new one. */
  readonly needsRehash: boolean;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<Verification>;
  /**
   * Costs what a verification of a current hash costs, and always fails. For unknown emails, so
   * the answer's timing does not tell who has an account.
   */
  verifyDummy(password: string): Promise<void>;
}

export type HasherSettings = Pick<PasswordConfig, 'algorithm' | 'bcryptCost' | 'argon2'>;

/** NIST: normalise Unicode with NFKC before hashing, so the same password typed on two keyboards matches. */
export function normalisePassword(password: string): string {
  return password.normalize('NFKC');
}

export function createPasswordHasher(settings: HasherSettings, pepper: Buffer): PasswordHasher {
  const argon2: Argon2Parameters = { ...settings.argon2 };

  const hash = async (password: string): Promise<string> => {
    const normalised = normalisePassword(password);
    if (settings.algorithm === 'argon2id') return `${argon2idPrefix}${await hashArgon2id(normalised, pepper, argon2)}`;
    return `${bcryptHmacPrefix}${await hashBcryptHmac(normalised, pepper, settings.bcryptCost)}`;
  };

  const verify = async (password: string, stored: string): Promise<Verification> => {
    const normalised = normalisePassword(password);
    const parsed = parseStoredHash(stored);
    switch (parsed.scheme) {
      case 'bcrypt-hmac': {
        const valid = await verifyBcryptHmac(normalised, pepper, parsed.inner);
        return { valid, needsRehash: valid && (settings.algorithm !== 'bcrypt' || parsed.cost !== settings.bcryptCost) };
      }
      case 'argon2id': {
        const valid = await verifyArgon2id(normalised, pepper, parsed.inner);
        return { valid, needsRehash: valid && (settings.algorithm !== 'argon2id' || argon2NeedsRehash(parsed.inner, argon2)) };
      }
      case 'legacy-bcrypt': {
        let valid = await verifyLegacyBcrypt(normalised, parsed.inner);
        // The other system may not have normalised: try the password as typed when NFKC changed it.
        if (!valid && normalised !== password) valid = await verifyLegacyBcrypt(password, parsed.inner);
        return { valid, needsRehash: valid };
      }
      case 'unknown':
        return { valid: false, needsRehash: false };
    }
  };

  // Made once, with the live parameters, the first time it is needed (and started right away so
  // the first unknown email does not pay for making it).
  let dummy: Promise<string> | undefined;
  const dummyHash = (): Promise<string> => {
    dummy ??= hash(randomBytes(24).toString('base64url'));
    return dummy;
  };
  dummyHash().catch(() => {
    // Retried on first use; a failure here must not become an unhandled rejection.
    dummy = undefined;
  });

  return {
    hash,
    verify,
    async verifyDummy(password: string) {
      await verify(password, await dummyHash());
    },
  };
}
