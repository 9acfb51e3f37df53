// src/accounts/mfa/totp.ts
// Time-based one-time passwords (RFC 6238) with otpauth: 160-bit seeds from the CSPRNG, 30-second
// steps, the current step and one either side accepted, and each step usable once: the caller
// stores the step returned here and passes it back as lastUsedStep.

import * as OTPAuth from 'otpauth';

export const totpPeriodSeconds = 30;
export const totpDigits = 6;
/** Steps accepted either side of the current one, for clock drift (ASVS 6.5.5 allows this). */
export const totpWindow = 1;
export const totpSecretBytes = 20;

export function generateTotpSecret(): string {
  return new OTPAuth.Secret({ size: totpSecretBytes }).base32;
}

export function totpUri(secretBase32: string, issuer: string, accountName: string): string {
  return new OTPAuth.TOTP({ issuer, label: accountName, secret: OTPAuth.Secret.fromBase32(secretBase32), digits: totpDigits, period: totpPeriodSeconds, algorithm: 'SHA1' }).toString();
}

export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / totpPeriodSeconds);
}

export interface TotpCheck {
  readonly secretBase32: string;
  readonly code: string;
  /** The last step that was accepted for this account; codes at or before it are refused. */
  readonly lastUsedStep: number | null;
  readonly nowMs: number;
}

/** Returns the accepted step, or null. A code is only ever accepted for a step after lastUsedStep. */
export function verifyTotp({ secretBase32, code, lastUsedStep, nowMs }: TotpCheck): number | null {
  const normalised = code.replace(/[\s-]/g, '');
  if (!/^\d{6}$/.test(normalised)) return null;
  const delta = OTPAuth.TOTP.validate({
    token: normalised,
    secret: OTPAuth.Secret.fromBase32(secretBase32),
    algorithm: 'SHA1',
    digits: totpDigits,
    period: totpPeriodSeconds,
    timestamp: nowMs,
    window: totpWindow,
  });
  if (delta === null) return null;
  const step = totpStep(nowMs) + delta;
  if (lastUsedStep !== null && step <= lastUsedStep) return null;
  return step;
}

/** For tests and enrolment previews: the code for a moment in time. */
export function totpCodeAt(secretBase32: string, nowMs: number, digits = totpDigits, algorithm = 'SHA1'): string {
  return OTPAuth.TOTP.generate({ secret: OTPAuth.Secret.fromBase32(secretBase32), algorithm, digits, period: totpPeriodSeconds, timestamp: nowMs });
}
