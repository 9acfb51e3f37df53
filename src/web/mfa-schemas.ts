// src/web/mfa-schemas.ts
// Input schemas for two-step verification, shared by the forms and the JSON API: codes are
// bounded and shaped before the domain looks at them (a malformed one costs no attempt), and a
// passkey's browser answer is accepted only in the shape WebAuthn gives it, every part bounded.

import { z } from 'zod';
import { text } from '../security/validation.js';
import { returnPathField } from './return-path.js';

export const totpCodeField = z
  .string()
  .max(12, { error: 'Enter the 6-digit code from your app.' })
  .regex(/^[0-9 -]+$/, { error: 'Enter the 6-digit code from your app.' })
  .meta({ description: 'The 6-digit code the authenticator app shows now (spaces and a dash are ignored).' });

export const recoveryCodeField = z
  .string()
  .max(32, { error: 'Enter a recovery code, like ABCDE-FGHJK.' })
  .regex(/^[A-Za-z0-9 -]+$/, { error: 'Enter a recovery code, like ABCDE-FGHJK.' })
  .meta({ description: 'One of the ten recovery codes (case, spaces and dashes are ignored). Each works once.' });

export const passkeyNameField = text(64).meta({ description: 'A name to tell passkeys apart; empty gives a default.' });

export const passkeyIdParam = z.string().regex(/^[0-9a-f-]{36}$/);
export const passkeyParams = z.strictObject({ id: passkeyIdParam });

export const totpCodeBody = z.strictObject({ code: totpCodeField });
export const recoveryCodeBody = z.strictObject({ code: recoveryCodeField });
export const totpCodeForm = totpCodeBody.extend({ return: returnPathField });
export const recoveryCodeForm = recoveryCodeBody.extend({ return: returnPathField });
export const passkeyRenameBody = z.strictObject({ name: passkeyNameField });

const base64url = (max: number) => z.string().max(max).regex(/^[A-Za-z0-9_-]*$/);

/** What a browser's PublicKeyCredential.toJSON() (or @simplewebauthn/browser) sends. */
const credentialFields = {
  id: base64url(1400).min(1),
  rawId: base64url(1400).min(1),
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  // Nothing here is used by the server; accepted (bounded by the body limit) and dropped.
  clientExtensionResults: z.record(z.string().max(64), z.unknown()).transform(() => ({})),
};

export const registrationCredential = z.strictObject({
  ...credentialFields,
  response: z.object({
    clientDataJSON: base64url(4096).min(1),
    attestationObject: base64url(12_000).min(1),
    authenticatorData: base64url(8192).optional(),
    transports: z.array(z.string().max(32)).max(10).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: base64url(8192).optional(),
  }),
});

export const authenticationCredential = z.strictObject({
  ...credentialFields,
  response: z.object({
    clientDataJSON: base64url(4096).min(1),
    authenticatorData: base64url(8192).min(1),
    // Post-quantum signatures are large: ML-DSA-87's is 4,627 bytes (6,170 characters here), and
    // @simplewebauthn/server offers ML-DSA first where the platform supports it (Node.js 24).
    signature: base64url(8192).min(1),
    userHandle: base64url(256).nullable().optional(),
  }),
});

export const passkeyRegistrationBody = z.strictObject({ name: passkeyNameField.optional(), credential: registrationCredential });
export const passkeyAssertionBody = z.strictObject({ credential: authenticationCredential });
