// test/mfa/credential-schema.test.ts
// The bounds on a browser's WebAuthn answer fit every signature algorithm a relying party may
// offer. @simplewebauthn/server offers ML-DSA (post-quantum, COSE -48/-49/-50) first where the
// platform supports it, as Node.js 24 does, and Chromium's authenticator then signs with it: a
// 2,048-character bound refused every ML-DSA-44 sign-in with a validation error. The bounds must
// still refuse what no algorithm produces.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { passkeyAssertionBody, passkeyRegistrationBody } from '../../src/web/mfa-schemas.js';

const b64 = (bytes: number) => randomBytes(bytes).toString('base64url');

function assertion(signatureBytes: number) {
  return {
    credential: {
      id: b64(32),
      rawId: b64(32),
      type: 'public-key',
      clientExtensionResults: {},
      response: { clientDataJSON: b64(180), authenticatorData: b64(37), signature: b64(signatureBytes), userHandle: b64(36) },
    },
  };
}

describe("a passkey's answer", () => {
  it('takes the signatures of ES256, RS256 and ML-DSA-44, -65 and -87', () => {
    for (const [algorithm, bytes] of [['ES256', 72], ['RS256', 256], ['ML-DSA-44', 2420], ['ML-DSA-65', 3309], ['ML-DSA-87', 4627]] as const) {
      assert.equal(passkeyAssertionBody.safeParse(assertion(bytes)).success, true, algorithm);
    }
  });

  it('refuses a signature longer than any algorithm makes, and one that is not base64url', () => {
    assert.equal(passkeyAssertionBody.safeParse(assertion(6200)).success, false);
    const hostile = assertion(64);
    hostile.credential.response.signature = 'abc+/=';
    assert.equal(passkeyAssertionBody.safeParse(hostile).success, false);
  });

  it('takes the registration of an ML-DSA-87 key (2,592-byte public key)', () => {
    const publicKey = 2592 + 22; // the SubjectPublicKeyInfo around it
    const registration = {
      credential: {
        id: b64(32),
        rawId: b64(32),
        type: 'public-key',
        clientExtensionResults: {},
        response: { clientDataJSON: b64(180), attestationObject: b64(publicKey + 200), authenticatorData: b64(publicKey + 120), publicKey: b64(publicKey), publicKeyAlgorithm: -50, transports: ['internal'] },
      },
    };
    assert.equal(passkeyRegistrationBody.safeParse(registration).success, true);
  });
});
