// test/mfa/support/soft-authenticator.ts
// A software WebAuthn authenticator for tests below the browser: P-256 keys, "none" attestation,
// discoverable credentials with user verification, and a signature counter the test can wind
// back (a cloned authenticator) or hold still. It builds exactly the JSON a browser would send,
// so the server's verification runs for real, signatures and all.

import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type { AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { isoCBOR } from '@simplewebauthn/server/helpers';

interface StoredCredential {
  readonly id: string;
  readonly privateKey: KeyObject;
  /** base64url of the user handle the site gave at registration. */
  readonly userHandle: string;
  counter: number;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();

function counterBytes(counter: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(counter >>> 0);
  return bytes;
}

export interface SoftAuthenticatorOptions {
  /** The origin the "browser" reports in clientDataJSON. */
  readonly origin: string;
  /** The RP id the authenticator hashes into authenticatorData (what the browser would use). */
  readonly rpId: string;
}

export class SoftAuthenticator {
  readonly #credentials = new Map<string, StoredCredential>();
  readonly origin: string;
  readonly rpId: string;
  /** Whether the "person" is verified (PIN, biometrics). */
  userVerified = true;

  constructor(options: SoftAuthenticatorOptions) {
    this.origin = options.origin;
    this.rpId = options.rpId;
  }

  get credentialIds(): string[] {
    return [...this.#credentials.keys()];
  }

  /** Sets a credential's counter (to play a cloned authenticator that is behind). */
  setCounter(credentialId: string, counter: number): void {
    const credential = this.#credentials.get(credentialId);
    if (credential === undefined) throw new Error('no such credential');
    credential.counter = counter;
  }

  #flags(attested: boolean): number {
    // UP (0x01), UV (0x04) when verified, AT (0x40) when credential data follows.
    return 0x01 | (this.userVerified ? 0x04 : 0) | (attested ? 0x40 : 0);
  }

  create(options: PublicKeyCredentialCreationOptionsJSON, overrides: { origin?: string; challenge?: string } = {}): RegistrationResponseJSON {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const id = randomBytes(32).toString('base64url');
    const cose = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x ?? '', 'base64url')],
        [-3, Buffer.from(jwk.y ?? '', 'base64url')],
      ]),
    );
    const idBytes = Buffer.from(id, 'base64url');
    const length = Buffer.alloc(2);
    length.writeUInt16BE(idBytes.length);
    const authData = Buffer.concat([sha256(this.rpId), Buffer.from([this.#flags(true)]), counterBytes(0), Buffer.alloc(16), length, idBytes, Buffer.from(cose)]);
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', new Uint8Array(authData)],
      ]) as never,
    );
    const clientDataJSON = JSON.stringify({ type: 'webauthn.create', challenge: overrides.challenge ?? options.challenge, origin: overrides.origin ?? this.origin, crossOrigin: false });
    this.#credentials.set(id, { id, privateKey, userHandle: options.user.id, counter: 0 });
    return {
      id,
      rawId: id,
      type: 'public-key',
      response: {
        clientDataJSON: Buffer.from(clientDataJSON).toString('base64url'),
        attestationObject: Buffer.from(attestationObject).toString('base64url'),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** Signs an assertion; picks the credential the options allow (or `credentialId`), counting up. */
  get(options: PublicKeyCredentialRequestOptionsJSON, overrides: { credentialId?: string; origin?: string; rpId?: string; challenge?: string; keepCounter?: boolean } = {}): AuthenticationResponseJSON {
    const allowed = options.allowCredentials?.map((entry) => entry.id);
    const id = overrides.credentialId ?? (allowed === undefined || allowed.length === 0 ? this.credentialIds[0] : allowed.find((candidate) => this.#credentials.has(candidate)));
    const credential = id === undefined ? undefined : this.#credentials.get(id);
    if (credential === undefined) throw new Error('the soft authenticator holds no matching credential');
    if (overrides.keepCounter !== true) credential.counter += 1;
    const authData = Buffer.concat([sha256(overrides.rpId ?? this.rpId), Buffer.from([this.#flags(false)]), counterBytes(credential.counter)]);
    const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: overrides.challenge ?? options.challenge, origin: overrides.origin ?? this.origin, crossOrigin: false }));
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), credential.privateKey);
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        authenticatorData: authData.toString('base64url'),
        signature: signature.toString('base64url'),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}
