// test/mfa/secrets-at-rest.test.ts
// Sealed secrets and recovery codes: nothing usable is kept in the clear, tampering is detected,
// and codes carry the entropy the standards ask for.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createSecretBox } from '../../src/security/encryption.js';
import {
  generateRecoveryCodes,
  hashRecoveryCode,
  normaliseRecoveryCode,
  recoveryCodeBits,
  recoveryCodeHashesEqual,
} from '../../src/accounts/mfa/recovery-codes.js';

describe('the secret box', () => {
  const box = createSecretBox(randomBytes(32));

  it('round-trips a secret and never contains it in the clear', () => {
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'totp:user-1');
    assert.ok(!sealed.includes('JBSWY3DPEHPK3PXP'));
    assert.equal(box.open(sealed, 'totp:user-1'), 'JBSWY3DPEHPK3PXP');
    assert.notEqual(box.seal('same', 'x'), box.seal('same', 'x'), 'a fresh IV each time');
  });

  it('refuses a value moved to another owner, altered, or sealed under another key', () => {
    const sealed = box.seal('seed', 'totp:user-1');
    assert.throws(() => box.open(sealed, 'totp:user-2'));
    const parts = sealed.split('.');
    const ciphertext = Buffer.from(parts[2] ?? '', 'base64url');
    ciphertext[0] = (ciphertext[0] ?? 0) ^ 1;
    parts[2] = ciphertext.toString('base64url');
    assert.throws(() => box.open(parts.join('.'), 'totp:user-1'));
    assert.throws(() => createSecretBox(randomBytes(32)).open(sealed, 'totp:user-1'));
    assert.throws(() => box.open('garbage', 'totp:user-1'));
  });
});

describe('recovery codes', () => {
  it('come ten at a time with at least 50 bits each, all different', () => {
    const codes = generateRecoveryCodes();
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    assert.ok(recoveryCodeBits >= 50);
    for (const code of codes) assert.match(code, /^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
  });

  it('are matched forgivingly: case, spaces, dashes, O for 0 and I or L for 1', () => {
    assert.equal(normaliseRecoveryCode('abcde-fghjk'), 'ABCDEFGHJK');
    assert.equal(normaliseRecoveryCode(' o1i2l-3 4567 '), '0112134567');
    assert.equal(normaliseRecoveryCode('ABCDE-FGHJ'), undefined);
    assert.equal(normaliseRecoveryCode('ABCDE-FGHJU'), undefined, 'U is not in the alphabet');
    assert.equal(normaliseRecoveryCode('<script>'), undefined);
  });

  it('are stored as keyed hashes that need the server key to check', () => {
    const key = randomBytes(32);
    const hash = hashRecoveryCode(key, 'ABCDEFGHJK');
    assert.ok(!hash.includes('ABCDEFGHJK'));
    assert.ok(recoveryCodeHashesEqual(hash, hashRecoveryCode(key, 'ABCDEFGHJK')));
    assert.ok(!recoveryCodeHashesEqual(hash, hashRecoveryCode(randomBytes(32), 'ABCDEFGHJK')));
    assert.ok(!recoveryCodeHashesEqual(hash, 'abcd'));
  });
});
