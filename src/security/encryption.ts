// src/security/encryption.ts
// Secrets kept at rest (TOTP seeds) are sealed with AES-256-GCM under a key derived from the
// master key. Associated data binds each ciphertext to its owner and purpose, so a sealed value
// copied onto another user's row does not open.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deriveKey } from './keys.js';

const version = 'v1';
const ivBytes = 12;
const tagBytes = 16;

export interface SecretBox {
  seal(plaintext: string, associatedData: string): string;
  /** Throws when the value was altered, sealed under another key or for other associated data. */
  open(sealed: string, associatedData: string): string;
}

export function createSecretBox(masterKey: Buffer): SecretBox {
  const key = deriveKey(masterKey, 'data-encryption');
  return {
    seal(plaintext, associatedData) {
      const iv = randomBytes(ivBytes);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: tagBytes });
      cipher.setAAD(Buffer.from(associatedData, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [version, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
    },
    open(sealed, associatedData) {
      const [tag, ivText, ciphertextText, authTagText, ...rest] = sealed.split('.');
      if (tag !== version || ivText === undefined || ciphertextText === undefined || authTagText === undefined || rest.length > 0) {
        throw new Error('not a sealed value of a known version');
      }
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(ivText, 'base64url'), { authTagLength: tagBytes });
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(Buffer.from(authTagText, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertextText, 'base64url')), decipher.final()]).toString('utf8');
    },
  };
}
