// src/accounts/mfa/types.ts
// The shapes the MFA domain shares with the web layer: which second factors an account has, what
// enrolment hands out once, and the service's operations. Nothing here knows of HTTP.

import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { PublicUser, RequestMeta, Role } from '../types.js';

/** A second factor that can finish a sign-in (names as the API's `methods` list gives them). */
export type SecondFactorMethod = 'totp' | 'passkey' | 'recovery';

/** Why a second factor is being checked: finishing a sign-in, or a signed-in step-up. */
export type SecondFactorPurpose = 'sign_in' | 'step_up';

export interface PasskeySummary {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
  /** A synced passkey (true) or one bound to a single device. */
  readonly backedUp: boolean;
}

export interface MfaStatus {
  /** At least one second factor (an authenticator app or a passkey) is on. */
  readonly enabled: boolean;
  readonly totp: boolean;
  /** An authenticator app enrolment is waiting for its first code. */
  readonly totpPending: boolean;
  readonly passkeys: readonly PasskeySummary[];
  readonly recoveryCodesRemaining: number;
  /** PORTCULLIS_MFA_REQUIRED applies to this account. */
  readonly required: boolean;
  /** Passkeys can be used at this deployment's address. */
  readonly passkeysAvailable: boolean;
}

/** Handed out once: the seed in base32 and the otpauth:// URI the QR code carries. */
export interface TotpEnrolment {
  readonly secret: string;
  readonly otpauthUrl: string;
}

/** Told of every second-factor outcome (the brute-force guard can plug in here). */
export interface SecondFactorObserver {
  failed(userId: string, meta: RequestMeta): Promise<void>;
  succeeded(userId: string, meta: RequestMeta): Promise<void>;
}

export interface MfaService {
  /** True when PORTCULLIS_MFA_REQUIRED covers this role. */
  isRequiredFor(role: Role): boolean;
  /** True when the account has a confirmed authenticator app or a passkey. */
  isEnabled(userId: string): Promise<boolean>;
  status(user: PublicUser): Promise<MfaStatus>;
  /** What can finish this account's sign-in; empty when it has no second factor. */
  methodsFor(userId: string): Promise<SecondFactorMethod[]>;

  /** A new seed (replacing an unconfirmed one); MFA_ALREADY_ENABLED when an app is already on. */
  startTotpEnrolment(user: PublicUser, meta: RequestMeta): Promise<TotpEnrolment>;
  /** The unconfirmed enrolment, to show its QR code again; undefined when there is none. */
  pendingTotpEnrolment(user: PublicUser): Promise<TotpEnrolment | undefined>;
  /** Turns the app on with its first valid code; new recovery codes when MFA was off (else empty). */
  confirmTotp(user: PublicUser, code: unknown, meta: RequestMeta): Promise<{ recoveryCodes: string[] }>;
  /** Removes the app (or cancels its enrolment). MFA_LAST_METHOD when the policy needs it kept. */
  removeTotp(user: PublicUser, meta: RequestMeta): Promise<void>;
  /** MFA_CODE_INVALID for a wrong, replayed or throttled code (one answer for all three). */
  verifyTotp(userId: string, code: unknown, purpose: SecondFactorPurpose, meta: RequestMeta): Promise<void>;

  /** Spends one recovery code; MFA_CODE_INVALID like verifyTotp. */
  useRecoveryCode(userId: string, code: unknown, purpose: SecondFactorPurpose, meta: RequestMeta): Promise<{ remaining: number }>;
  /** A new set of ten; the old set stops working. Needs MFA on. */
  regenerateRecoveryCodes(user: PublicUser, meta: RequestMeta): Promise<string[]>;

  /** Options for navigator.credentials.create(); the challenge is bound to `binding` (the session). */
  passkeyRegistrationOptions(user: PublicUser, binding: string): Promise<PublicKeyCredentialCreationOptionsJSON>;
  registerPasskey(user: PublicUser, binding: string, input: { name?: string | undefined; response: unknown }, meta: RequestMeta): Promise<{ passkey: PasskeySummary; recoveryCodes: string[] }>;
  renamePasskey(user: PublicUser, passkeyId: string, name: unknown, meta: RequestMeta): Promise<PasskeySummary>;
  removePasskey(user: PublicUser, passkeyId: string, meta: RequestMeta): Promise<void>;
  /**
   * Options for navigator.credentials.get(): for `userId`'s passkeys as a second factor, or, with
   * no user, for any discoverable passkey (passwordless sign-in, user verification required).
   */
  passkeyAuthenticationOptions(binding: string, userId: string | undefined): Promise<PublicKeyCredentialRequestOptionsJSON>;
  /**
   * Verifies an assertion against its single-use challenge; returns the account it belongs to.
   * With `userId` (second factor) the passkey must be that account's. PASSKEY_REJECTED otherwise.
   */
  verifyPasskey(binding: string, response: unknown, userId: string | undefined, purpose: SecondFactorPurpose, meta: RequestMeta): Promise<PublicUser>;

  /** Deletes expired challenges and failures older than the limit's window; returns how many. */
  prune(): Promise<number>;
}
