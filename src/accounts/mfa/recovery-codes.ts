// src/accounts/mfa/recovery-codes.ts
// Recovery codes: ten a set, 50 bits each (ten characters of Crockford base32, shown as
// xxxxx-xxxxx), stored only as HMAC-SHA-256 under a key derived from the master key, so a copy
// of the database alone cannot be brute-forced offline. Input is forgiving about case, spaces,
// dashes and the letters Crockford folds (O→0, I/L→1).

import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';

export const recoveryCodeCount = 10;
export const recoveryCodeLength = 10;
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** log2(32) × 10 = 50 bits of entropy per code (ASVS 6.5.3 asks for at least 20). */
export const recoveryCodeBits = Math.log2(alphabet.length) * recoveryCodeLength;

export function generateRecoveryCodes(count = recoveryCodeCount): string[] {
  return Array.from({ length: count }, () => {
    let code = '';
    for (let index = 0; index < recoveryCodeLength; index += 1) code += alphabet.charAt(randomInt(alphabet.length));
    return `${code.slice(0, 5)}-${code.slice(5)}`;
  });
}

/** Canonical form, or undefined when the input cannot be a recovery code. */
export function normaliseRecoveryCode(input: string): string | undefined {
  const folded = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (folded.length !== recoveryCodeLength) return undefined;
  for (const character of folded) if (!alphabet.includes(character)) return undefined;
  return folded;
}

export function hashRecoveryCode(key: Buffer, canonicalCode: string): string {
  return createHmac('sha256', key).update(canonicalCode, 'utf8').digest('hex');
}

export function recoveryCodeHashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}
