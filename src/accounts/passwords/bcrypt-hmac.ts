// src/accounts/passwords/bcrypt-hmac.ts
// OWASP's bcrypt pre-hash: bcrypt(base64(HMAC-SHA-384(NFKC(password), pepper))). bcrypt ignores
// everything after byte 72; the 64-character base64 digest fits, so every character of a long
// password counts. Base64 keeps NUL bytes out (bcrypt stops at one), and the HMAC key (the pepper,
// derived from the master key, never stored in the database) stops "password shucking" with
// leaked unsalted hashes. bcrypt runs on libuv's thread pool, so the event loop never waits on it.

import { createHmac } from 'node:crypto';
import bcrypt from 'bcrypt';

export function preHash(normalisedPassword: string, pepper: Buffer): string {
  return createHmac('sha384', pepper).update(normalisedPassword, 'utf8').digest('base64');
}

export function hashBcryptHmac(normalisedPassword: string, pepper: Buffer, cost: number): Promise<string> {
  return bcrypt.hash(preHash(normalisedPassword, pepper), cost);
}

export function verifyBcryptHmac(normalisedPassword: string, pepper: Buffer, inner: string): Promise<boolean> {
  return bcrypt.compare(preHash(normalisedPassword, pepper), inner);
}

/**
 * A plain bcrypt hash from another system. The node binding knows $2a$ and $2b$; PHP's $2y$ is
 * the same algorithm under another name (the fixed crypt_blowfish), so it is read as $2b$.
 * These keep bcrypt's 72-byte semantics until the account's next sign-in replaces them.
 */
export function verifyLegacyBcrypt(password: string, hash: string): Promise<boolean> {
  const readable = hash.startsWith('$2y$') ? `$2b$${hash.slice(4)}` : hash;
  return bcrypt.compare(password, readable);
}
