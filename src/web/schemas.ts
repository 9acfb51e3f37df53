// src/web/schemas.ts
// The input schemas shared by the HTML forms and the JSON API, so both accept exactly the same
// things. The API's OpenAPI document is generated from these too. The domain applies the password
// policy; here passwords are only bounded (never trimmed: every character counts).

import { z } from 'zod';
import { codePointLength, text } from '../security/validation.js';

/** Far above any policy's maximum; only stops a megabyte "password" from reaching the hasher. */
export const maxPasswordCodePoints = 1024;

export const emailField = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ error: 'Enter a valid email address.' }))
  .meta({ format: 'email', description: 'An email address (normalised by the server: trimmed, NFKC, lower-case).' });

export const passwordField = z
  .string()
  .min(1, { error: 'This field is required.' })
  .refine((value) => codePointLength(value) <= maxPasswordCodePoints, { error: `Use at most ${maxPasswordCodePoints} characters.` })
  // JSON Schema counts code points too, so the refinement's limit can be stated as maxLength.
  .meta({ description: 'Kept exactly as typed; Unicode is welcome.', maxLength: maxPasswordCodePoints });

export const displayNameField = text(80).meta({ description: 'How the account is greeted; empty clears it.', maxLength: 80 });

/** Verification and reset tokens: 256 random bits, base64url. The shape only; the domain decides. */
export const tokenField = z
  .string()
  .regex(/^[A-Za-z0-9_-]{16,128}$/, { error: 'This link is not valid. Use the newest link we sent you.' })
  .meta({ description: 'The token from the emailed link.' });

/** A session as the sessions list names it: the SHA-256 hex of its id, useless as a cookie. */
export const sessionIdParam = z.string().regex(/^[0-9a-f]{64}$/);

export const userIdParam = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

export const signUpBody = z.strictObject({
  email: emailField,
  password: passwordField,
  displayName: displayNameField.optional(),
});

export const signInBody = z.strictObject({ email: emailField, password: passwordField });

export const verifyEmailBody = z.strictObject({ token: tokenField });

export const forgotPasswordBody = z.strictObject({ email: emailField });

export const resetPasswordBody = z.strictObject({ token: tokenField, newPassword: passwordField });

export const changePasswordBody = z.strictObject({ currentPassword: passwordField, newPassword: passwordField });

export const changeEmailBody = z.strictObject({ email: emailField });

export const reauthenticateBody = z.strictObject({ password: passwordField });

export const updateProfileBody = z.strictObject({ displayName: displayNameField.nullable() });

export const sessionParams = z.strictObject({ id: sessionIdParam });

export const adminUsersQuery = z.strictObject({
  q: text(100).optional(),
  page: z.coerce.number().int().min(1).max(100_000).optional(),
});
