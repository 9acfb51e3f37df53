// src/security/keys.ts
// Every key Portcullis uses is derived from the one master key with HKDF-SHA-256, one purpose a key,
// so a leak of one derived key (say, a session-signing key in a log) exposes nothing else.

import { hkdfSync } from 'node:crypto';

export type KeyPurpose = 'session-cookie' | 'password-pepper' | 'data-encryption' | 'device-cookie' | 'token-mac' | 'recovery-code' | 'audit-chain';

const salt = Buffer.from('portcullis/hkdf/v1', 'utf8');

export function deriveKey(masterKey: Buffer, purpose: KeyPurpose, lengthBytes = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, salt, Buffer.from(purpose, 'utf8'), lengthBytes));
}
