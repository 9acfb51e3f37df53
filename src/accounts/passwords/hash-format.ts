// src/accounts/passwords/hash-format.ts
// Stored password hashes say what made them, so several schemes can live in one column and the
// old ones upgrade at the next sign-in. Nothing here hashes; it only reads and writes the labels.

/** bcrypt over base64(HMAC-SHA-384(NFKC(password), pepper)): every character counts, pepper required. */
export const bcryptHmacPrefix = '$pc-bcrypt-hmac$v=1$';
/** Argon2id (PHC string) over NFKC(password), with the pepper as Argon2's own secret input. */
export const argon2idPrefix = '$pc-argon2id$v=1$';

export type StoredHash =
  | { readonly scheme: 'bcrypt-hmac'; readonly inner: string; readonly cost: number }
  | { readonly scheme: 'argon2id'; readonly inner: string }
  /** A plain bcrypt hash imported from another system ($2a$, $2b$, $2y$); upgraded at sign-in. */
  | { readonly scheme: 'legacy-bcrypt'; readonly inner: string; readonly cost: number }
  | { readonly scheme: 'unknown' };

/** $2a$/$2b$/$2y$, two-digit cost, 53 characters of salt and hash in bcrypt's base64 alphabet. */
const bcryptPattern = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;

function bcryptCost(hash: string): number | undefined {
  const match = bcryptPattern.exec(hash);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

export function parseStoredHash(stored: string): StoredHash {
  if (stored.startsWith(bcryptHmacPrefix)) {
    const inner = stored.slice(bcryptHmacPrefix.length);
    const cost = bcryptCost(inner);
    return cost === undefined ? { scheme: 'unknown' } : { scheme: 'bcrypt-hmac', inner, cost };
  }
  if (stored.startsWith(argon2idPrefix)) {
    const inner = stored.slice(argon2idPrefix.length);
    return inner.startsWith('$argon2id$') ? { scheme: 'argon2id', inner } : { scheme: 'unknown' };
  }
  const cost = bcryptCost(stored);
  if (cost !== undefined) return { scheme: 'legacy-bcrypt', inner: stored, cost };
  return { scheme: 'unknown' };
}

/** True for the plain bcrypt hashes `portcullis user import` accepts. */
export function isImportableBcrypt(hash: string): boolean {
  return bcryptPattern.test(hash);
}
