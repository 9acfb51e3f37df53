// src/accounts/email-address.ts
// One spelling per address: trimmed, NFKC-normalised and lower-cased, at most 254 characters
// (RFC 5321's path limit), in the everyday user@domain.tld form. Two sign-ups that differ only in
// case or in Unicode compatibility forms (full-width letters) meet the same account.

import { z } from 'zod';

export const maximumEmailLength = 254;

const emailShape = z.email();

/** The normalised address, or undefined when it is not an acceptable email address. */
export function normaliseEmail(input: unknown): string | undefined {
  if (typeof input !== 'string') return undefined;
  // Bound the work before normalising: NFKC can expand a string, but not from 1 KB to anything useful.
  if (input.length > 1024) return undefined;
  const normalised = input.trim().normalize('NFKC').toLowerCase();
  if (normalised.length === 0 || normalised.length > maximumEmailLength) return undefined;
  return emailShape.safeParse(normalised).success ? normalised : undefined;
}
