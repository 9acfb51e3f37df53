// src/accounts/mfa/service.ts
// createMfaService(): multi-factor authentication behind one interface (./types.ts), built from
// the account flows' context plus what only MFA needs: the sealing box for TOTP seeds (AES-256-GCM
// under the HKDF 'data-encryption' key), the recovery-code HMAC key (HKDF 'recovery-code'), the
// wrong-code limit and the relying party. Like the rest of the domain it knows nothing of HTTP.

import { createSecretBox } from '../../security/encryption.js';
import { deriveKey } from '../../security/keys.js';
import type { FlowContext } from '../context.js';
import { createCodeAttemptLimiter } from './attempt-limit.js';
import { confirmTotp, pendingTotpEnrolment, regenerateRecoveryCodes, removeTotp, requiredFor, startTotpEnrolment, useRecoveryCode, verifyTotp } from './codes.js';
import { isMfaEnabled, secondFactorKinds, unusedRecoveryCodes, type MfaContext } from './context.js';
import {
  listPasskeys,
  passkeyAuthenticationOptions,
  passkeyRegistrationOptions,
  pruneChallenges,
  registerPasskey,
  removePasskey,
  renamePasskey,
  verifyPasskey,
} from './passkeys.js';
import type { MfaService, SecondFactorMethod, SecondFactorObserver } from './types.js';

export type { MfaService, MfaStatus, PasskeySummary, SecondFactorMethod, SecondFactorPurpose, TotpEnrolment } from './types.js';

export interface MfaServiceOptions {
  /** Told of every second-factor success and failure, beside the built-in per-account limit. */
  readonly observer?: SecondFactorObserver;
}

export function createMfaContext(flow: FlowContext, options: MfaServiceOptions = {}): MfaContext {
  const webauthn = flow.config.mfa.webauthn;
  return {
    ...flow,
    box: createSecretBox(flow.config.masterKey),
    recoveryKey: deriveKey(flow.config.masterKey, 'recovery-code'),
    limiter: createCodeAttemptLimiter(flow.db, { now: flow.now }),
    observer: options.observer,
    relyingParty: webauthn === undefined ? undefined : { ...webauthn, name: flow.config.siteName },
  };
}

export function createMfaService(flow: FlowContext, options: MfaServiceOptions = {}): MfaService {
  const ctx = createMfaContext(flow, options);
  return {
    isRequiredFor: (role) => requiredFor(ctx, role),
    isEnabled: (userId) => isMfaEnabled(ctx.db, userId),
    async status(user) {
      const [totpRow, passkeys, recoveryCodesRemaining] = await Promise.all([
        ctx.db.selectFrom('mfa_totp').select(['confirmed_at']).where('user_id', '=', user.id).executeTakeFirst(),
        listPasskeys(ctx, user.id),
        unusedRecoveryCodes(ctx.db, user.id),
      ]);
      const totp = totpRow !== undefined && totpRow.confirmed_at !== null;
      return {
        enabled: totp || passkeys.length > 0,
        totp,
        totpPending: totpRow !== undefined && totpRow.confirmed_at === null,
        passkeys,
        recoveryCodesRemaining,
        required: requiredFor(ctx, user.role),
        passkeysAvailable: ctx.relyingParty !== undefined,
      };
    },
    async methodsFor(userId) {
      // Asked at every sign-in: most accounts have no second factor, and one statement says so
      // (issue 8: the sign-in's statements come out of the same cores as the password hashing).
      // The same statement says which kinds there are; only recovery codes are left to count.
      const { totp, passkeys } = await secondFactorKinds(ctx.db, userId);
      if (!totp && !passkeys) return [];
      const codes = await unusedRecoveryCodes(ctx.db, userId);
      const methods: SecondFactorMethod[] = [];
      if (totp) methods.push('totp');
      if (passkeys && ctx.relyingParty !== undefined) methods.push('passkey');
      // Recovery codes only ever stand in for a factor the account has (it has one here).
      if (codes > 0) methods.push('recovery');
      // An account whose only factor cannot be used here (passkeys at an IP address) still needs one.
      if (methods.length === 0 && passkeys) methods.push('passkey');
      return methods;
    },
    startTotpEnrolment: (user, meta) => startTotpEnrolment(ctx, user, meta),
    pendingTotpEnrolment: (user) => pendingTotpEnrolment(ctx, user),
    confirmTotp: (user, code, meta) => confirmTotp(ctx, user, code, meta),
    removeTotp: (user, meta) => removeTotp(ctx, user, meta),
    verifyTotp: (userId, code, purpose, meta) => verifyTotp(ctx, userId, code, purpose, meta),
    useRecoveryCode: (userId, code, purpose, meta) => useRecoveryCode(ctx, userId, code, purpose, meta),
    regenerateRecoveryCodes: (user, meta) => regenerateRecoveryCodes(ctx, user, meta),
    passkeyRegistrationOptions: (user, binding) => passkeyRegistrationOptions(ctx, user, binding),
    registerPasskey: (user, binding, input, meta) => registerPasskey(ctx, user, binding, input, meta),
    renamePasskey: (user, passkeyId, name, meta) => renamePasskey(ctx, user, passkeyId, name, meta),
    removePasskey: (user, passkeyId, meta) => removePasskey(ctx, user, passkeyId, meta),
    passkeyAuthenticationOptions: (binding, userId) => passkeyAuthenticationOptions(ctx, binding, userId),
    verifyPasskey: (binding, response, userId, purpose, meta) => verifyPasskey(ctx, binding, response, userId, purpose, meta),
    async prune() {
      return (await pruneChallenges(ctx)) + (await ctx.limiter.prune());
    },
  };
}
