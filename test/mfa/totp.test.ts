// test/mfa/totp.test.ts
// TOTP against RFC 6238's own test vectors, its window edges and its single-use rule.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as OTPAuth from 'otpauth';
import { generateTotpSecret, totpCodeAt, totpStep, totpUri, verifyTotp } from '../../src/accounts/mfa/totp.js';

// RFC 6238 appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
const rfcSecret = OTPAuth.Secret.fromLatin1('12345678901234567890').base32;
const rfcVectors: [number, string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

describe('TOTP', () => {
  for (const [seconds, expected] of rfcVectors) {
    it(`produces the RFC 6238 SHA-1 code ${expected} at T=${seconds}`, () => {
      assert.equal(totpCodeAt(rfcSecret, seconds * 1000, 8), expected);
    });
  }

  it('makes 160-bit secrets from the CSPRNG, different every time', () => {
    const secrets = new Set(Array.from({ length: 50 }, () => generateTotpSecret()));
    assert.equal(secrets.size, 50);
    for (const secret of secrets) assert.equal(OTPAuth.Secret.fromBase32(secret).bytes.length, 20);
  });

  it('writes an otpauth:// URI an authenticator app understands', () => {
    const uri = new URL(totpUri('JBSWY3DPEHPK3PXP', 'Portcullis', 'ada@example.com'));
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.searchParams.get('secret'), 'JBSWY3DPEHPK3PXP');
    assert.equal(uri.searchParams.get('period'), '30');
    assert.equal(uri.searchParams.get('issuer'), 'Portcullis');
  });

  const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
  const now = Date.parse('2026-11-29T10:00:10Z');

  it('accepts the current step and one either side, and nothing further', () => {
    for (const offset of [-1, 0, 1]) {
      const code = totpCodeAt(secret, now + offset * 30_000);
      assert.equal(verifyTotp({ secretBase32: secret, code, lastUsedStep: null, nowMs: now }), totpStep(now) + offset, `offset ${offset}`);
    }
    for (const offset of [-2, 2]) {
      const code = totpCodeAt(secret, now + offset * 30_000);
      assert.equal(verifyTotp({ secretBase32: secret, code, lastUsedStep: null, nowMs: now }), null, `offset ${offset}`);
    }
  });

  it('refuses a replay of the same code, and any code for an earlier step', () => {
    const code = totpCodeAt(secret, now);
    const step = verifyTotp({ secretBase32: secret, code, lastUsedStep: null, nowMs: now });
    assert.equal(step, totpStep(now));
    assert.equal(verifyTotp({ secretBase32: secret, code, lastUsedStep: step, nowMs: now + 5_000 }), null);
    const previous = totpCodeAt(secret, now - 30_000);
    assert.equal(verifyTotp({ secretBase32: secret, code: previous, lastUsedStep: step, nowMs: now }), null);
    const next = totpCodeAt(secret, now + 30_000);
    assert.equal(verifyTotp({ secretBase32: secret, code: next, lastUsedStep: step, nowMs: now + 30_000 }), totpStep(now) + 1);
  });

  it('refuses malformed codes without throwing', () => {
    for (const code of ['', '12345', '1234567', 'abcdef', '12 34 5x', '٣٤٥٦٧٨', '123456'.repeat(100)]) {
      assert.equal(verifyTotp({ secretBase32: secret, code, lastUsedStep: null, nowMs: now }), null, code);
    }
  });

  it('tolerates spaces and a dash inside a code', () => {
    const code = totpCodeAt(secret, now);
    assert.ok(verifyTotp({ secretBase32: secret, code: `${code.slice(0, 3)} ${code.slice(3)}`, lastUsedStep: null, nowMs: now }));
  });
});
