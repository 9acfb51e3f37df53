// src/web/api/mfa.ts
// Two-step verification in the JSON API (issue 4). Under /me/mfa: the account's factors, adding
// an authenticator app (answers the seed once) and confirming it (answers the recovery codes once),
// removing it, new recovery codes, and passkeys (registration, rename, removal); every change needs
// a recent password and, when a factor is on, a recent second factor. Under /auth: finishing a
// sign-in whose password was accepted ({ mfaRequired: true, methods }) with a TOTP code, a recovery
// code or a passkey, and passwordless sign-in with a passkey. The /auth/mfa routes also serve a
// signed-in session's step-up, renewing its second-factor proof.

import type { Request, Response } from 'express';
import { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import type { PasskeySummary, SecondFactorPurpose } from '../../accounts/mfa/service.js';
import { hashSessionId } from '../../storage/sessions/kysely-session-store.js';
import { currentUser } from '../access.js';
import type { PublicUser } from '../accounts-port.js';
import type { WebDependencies } from '../dependencies.js';
import { allowMfaChange, ceremonyBinding, checkSecondFactorCode, completePasskeySignIn, completeSignIn, completeStepUp, holdRecoveryCodes, pendingAccount, recoveryCodeBox } from '../mfa-session.js';
import { passkeyAssertionBody, passkeyParams, passkeyRegistrationBody, passkeyRenameBody, recoveryCodeBody, totpCodeBody } from '../mfa-schemas.js';
import { requestMeta } from '../session-state.js';
import { apiRoute, type ApiRoute } from './route.js';
import { toUserView, userResponse } from './views.js';

const tag = 'mfa';
const timestamp = z.iso.datetime().meta({ description: 'UTC, ISO 8601' });

export const secondFactorMethods = z.enum(['totp', 'passkey', 'recovery']);

export const mfaRequiredResponse = z.object({
  mfaRequired: z.literal(true),
  methods: z.array(secondFactorMethods).meta({ description: 'What can finish this sign-in: POST /auth/mfa/totp, /auth/mfa/passkey or /auth/mfa/recovery.' }),
});

const passkeyView = z.object({ id: z.string(), name: z.string(), createdAt: timestamp, lastUsedAt: timestamp.nullable(), backedUp: z.boolean() });
const mfaStatusResponse = z.object({
  enabled: z.boolean(),
  required: z.boolean(),
  totp: z.boolean(),
  totpPending: z.boolean(),
  passkeysAvailable: z.boolean(),
  passkeys: z.array(passkeyView),
  recoveryCodesRemaining: z.number().int().min(0),
});
const totpEnrolmentResponse = z.object({
  secret: z.string().meta({ description: 'The seed, base32; shown this once. Enter it, or the URI as a QR code, in an authenticator app.' }),
  otpauthUrl: z.string().meta({ description: 'otpauth://totp/... for a QR code.' }),
});
const recoveryCodesResponse = z.object({ recoveryCodes: z.array(z.string()).meta({ description: 'Shown this once; empty when the account kept its existing set.' }) });
const optionsResponse = z.object({ options: z.record(z.string(), z.unknown()).meta({ description: 'PublicKeyCredential options JSON for the browser (WebAuthn Level 3).' }) });
const passkeyResponse = z.object({ passkey: passkeyView });
const passkeyAddedResponse = z.object({ passkey: passkeyView, recoveryCodes: z.array(z.string()) });
const recoveryUsedResponse = userResponse.extend({ recoveryCodesRemaining: z.number().int().min(0) });

const iso = (at: number) => new Date(at).toISOString();
function toPasskeyView(passkey: PasskeySummary): z.infer<typeof passkeyView> {
  return { id: passkey.id, name: passkey.name, createdAt: iso(passkey.createdAt), lastUsedAt: passkey.lastUsedAt === null ? null : iso(passkey.lastUsedAt), backedUp: passkey.backedUp };
}

/** Who the second factor is for: a pending sign-in, or the signed-in account stepping up. */
async function secondFactorSubject(deps: WebDependencies, req: Request, res: Response): Promise<{ user: PublicUser; purpose: SecondFactorPurpose }> {
  const pending = await pendingAccount(req, deps.accounts);
  if (pending !== undefined) return { user: pending.user, purpose: 'sign_in' };
  const user = res.locals.user;
  if (user !== undefined) return { user, purpose: 'step_up' };
  throw new AppError('UNAUTHENTICATED');
}

async function finish(req: Request, user: PublicUser, purpose: SecondFactorPurpose): Promise<void> {
  if (purpose === 'sign_in') await completeSignIn(req, user);
  else await completeStepUp(req, user);
}

export function mfaApiRoutes(deps: WebDependencies): ApiRoute[] {
  const { mfa } = deps;
  const box = recoveryCodeBox(deps.config.masterKey);
  const passkeysOn = deps.config.mfa.webauthn !== undefined;
  const mayChange = async (req: Request, res: Response) => {
    await allowMfaChange(req, res, mfa, currentUser(res), 'api', '/account/mfa');
  };
  const changeErrors = ['REAUTHENTICATION_REQUIRED', 'SECOND_FACTOR_REQUIRED'];

  const routes: ApiRoute[] = [
    apiRoute({
      method: 'get',
      path: '/me/mfa',
      summary: 'The account\'s second factors: authenticator app, passkeys, recovery codes left, and whether the policy requires them.',
      tag,
      access: 'verified',
      schemas: {},
      responses: { 200: { description: 'The state of two-step verification.', schema: mfaStatusResponse } },
      async handle(_input, _req, res) {
        const status = await mfa.status(currentUser(res));
        res.json({ ...status, passkeys: status.passkeys.map(toPasskeyView) });
      },
    }),
    apiRoute({
      method: 'post',
      path: '/me/mfa/totp',
      summary: 'Start adding an authenticator app: answers a new 160-bit seed and its otpauth:// URI. It turns on only with POST /me/mfa/totp/confirm.',
      tag,
      access: 'verified',
      schemas: {},
      responses: { 201: { description: 'The seed, shown this once.', schema: totpEnrolmentResponse } },
      errors: [...changeErrors, 'MFA_ALREADY_ENABLED'],
      async handle(_input, req, res) {
        await mayChange(req, res);
        const enrolment = await mfa.startTotpEnrolment(currentUser(res), requestMeta(req));
        res.status(201).json({ secret: enrolment.secret, otpauthUrl: enrolment.otpauthUrl });
      },
    }),
    apiRoute({
      method: 'post',
      path: '/me/mfa/totp/confirm',
      summary: 'Turn the authenticator app on with its current code. Answers ten recovery codes when two-step verification was off.',
      tag,
      access: 'verified',
      schemas: { body: totpCodeBody },
      responses: { 200: { description: 'On.', schema: recoveryCodesResponse } },
      errors: [...changeErrors, 'MFA_CODE_INVALID'],
      async handle({ body }, req, res) {
        await mayChange(req, res);
        const user = currentUser(res);
        let recoveryCodes: string[] = [];
        await checkSecondFactorCode(deps, req, user.id, async () => {
          ({ recoveryCodes } = await mfa.confirmTotp(user, body.code, requestMeta(req)));
        });
        // Proving the new factor is a second-factor proof: a new session id that records it.
        await completeStepUp(req, user);
        holdRecoveryCodes(req, box, user.id, recoveryCodes);
        res.json({ recoveryCodes });
      },
    }),
    apiRoute({
      method: 'delete',
      path: '/me/mfa/totp',
      summary: 'Remove the authenticator app (or cancel its setup). Refused when the policy requires a second factor and it is the last one.',
      tag,
      access: 'verified',
      schemas: {},
      responses: { 204: { description: 'Removed.' } },
      errors: [...changeErrors, 'MFA_LAST_METHOD', 'NOT_FOUND'],
      async handle(_input, req, res) {
        await mayChange(req, res);
        await mfa.removeTotp(currentUser(res), requestMeta(req));
        res.status(204).end();
      },
    }),
    apiRoute({
      method: 'post',
      path: '/me/mfa/recovery-codes',
      summary: 'Make a new set of ten recovery codes; the old set stops working.',
      tag,
      access: 'verified',
      schemas: {},
      responses: { 200: { description: 'The new codes, shown this once.', schema: recoveryCodesResponse } },
      errors: [...changeErrors, 'NOT_FOUND'],
      async handle(_input, req, res) {
        await mayChange(req, res);
        const user = currentUser(res);
        const recoveryCodes = await mfa.regenerateRecoveryCodes(user, requestMeta(req));
        holdRecoveryCodes(req, box, user.id, recoveryCodes);
        res.json({ recoveryCodes });
      },
    }),
    apiRoute({
      method: 'post',
      path: '/auth/mfa/totp',
      summary: 'Finish a sign-in (or confirm a change while signed in) with the authenticator app\'s code. The session id changes.',
      tag,
      access: 'public',
      schemas: { body: totpCodeBody },
      responses: { 200: { description: 'Signed in (or confirmed).', schema: userResponse } },
      errors: ['UNAUTHENTICATED', 'MFA_CODE_INVALID'],
      async handle({ body }, req, res) {
        const { user, purpose } = await secondFactorSubject(deps, req, res);
        await checkSecondFactorCode(deps, req, user.id, () => mfa.verifyTotp(user.id, body.code, purpose, requestMeta(req)));
        await finish(req, user, purpose);
        res.json({ user: toUserView(user) });
      },
    }),
    apiRoute({
      method: 'post',
      path: '/auth/mfa/recovery',
      summary: 'Finish a sign-in (or confirm a change) with a recovery code; it is spent. The session id changes.',
      tag,
      access: 'public',
      schemas: { body: recoveryCodeBody },
      responses: { 200: { description: 'Signed in (or confirmed), and how many codes are left.', schema: recoveryUsedResponse } },
      errors: ['UNAUTHENTICATED', 'MFA_CODE_INVALID'],
      async handle({ body }, req, res) {
        const { user, purpose } = await secondFactorSubject(deps, req, res);
        let remaining = 0;
        await checkSecondFactorCode(deps, req, user.id, async () => {
          ({ remaining } = await mfa.useRecoveryCode(user.id, body.code, purpose, requestMeta(req)));
        });
        await finish(req, user, purpose);
        res.json({ user: toUserView(user), recoveryCodesRemaining: remaining });
      },
    }),
  ];
  if (!passkeysOn) return routes;

  const binding = (req: Request) => ceremonyBinding(req, hashSessionId);
  routes.push(
    apiRoute({
      method: 'get',
      path: '/me/mfa/passkeys',
      summary: 'The account\'s passkeys.',
      tag,
      access: 'verified',
      schemas: {},
      responses: { 200: { description: 'The passkeys, oldest first.', schema: z.object({ passkeys: z.array(passkeyView) }) } },
      async handle(_input, _req, res) {
        const status = await mfa.status(currentUser(res));
        res.json({ passkeys: status.passkeys.map(toPasskeyView) });
      },
    }),
    apiRoute({
      method: 'post',
      path: '/me/mfa/passkeys/registration-options',
      summary: 'Start adding a passkey: options for navigator.credentials.create() with a single-use challenge (5 minutes).',
      tag,
      access: 'verified',
      schemas: {},
      responses: { 200: { description: 'Creation options.', schema: optionsResponse } },
      errors: [...changeErrors],
      async handle(_input, req, res) {
        await mayChange(req, res);
        const options = await mfa.passkeyRegistrationOptions(currentUser(res), binding(req));
        res.json({ options });
      },
    }),
    apiRoute({
      method: 'post',
      path: '/me/mfa/passkeys',
      summary: 'Add the passkey the browser created. Answers ten recovery codes when two-step verification was off.',
      tag,
      access: 'verified',
      schemas: { body: passkeyRegistrationBody },
      responses: { 201: { description: 'Added.', schema: passkeyAddedResponse } },
      errors: [...changeErrors, 'PASSKEY_REGISTRATION_FAILED'],
      async handle({ body }, req, res) {
        await mayChange(req, res);
        const user = currentUser(res);
        const { passkey, recoveryCodes } = await mfa.registerPasskey(user, binding(req), { name: body.name, response: body.credential }, requestMeta(req));
        // A new passkey, verified with its user: a second-factor proof, and a new session id for it.
        await completeStepUp(req, user);
        holdRecoveryCodes(req, box, user.id, recoveryCodes);
        res.status(201).json({ passkey: toPasskeyView(passkey), recoveryCodes });
      },
    }),
    apiRoute({
      method: 'patch',
      path: '/me/mfa/passkeys/:id',
      summary: 'Rename a passkey.',
      tag,
      access: 'verified',
      schemas: { params: passkeyParams, body: passkeyRenameBody },
      responses: { 200: { description: 'Renamed.', schema: passkeyResponse } },
      errors: ['NOT_FOUND'],
      async handle({ params, body }, req, res) {
        const passkey = await mfa.renamePasskey(currentUser(res), params.id, body.name, requestMeta(req));
        res.json({ passkey: toPasskeyView(passkey) });
      },
    }),
    apiRoute({
      method: 'delete',
      path: '/me/mfa/passkeys/:id',
      summary: 'Remove a passkey. Refused when the policy requires a second factor and it is the last one.',
      tag,
      access: 'verified',
      schemas: { params: passkeyParams },
      responses: { 204: { description: 'Removed.' } },
      errors: [...changeErrors, 'MFA_LAST_METHOD', 'NOT_FOUND'],
      async handle({ params }, req, res) {
        await mayChange(req, res);
        await mfa.removePasskey(currentUser(res), params.id, requestMeta(req));
        res.status(204).end();
      },
    }),
    apiRoute({
      method: 'post',
      path: '/auth/mfa/passkey/options',
      summary: 'Options for navigator.credentials.get() with the pending account\'s passkeys (or the signed-in account\'s, to confirm a change).',
      tag,
      access: 'public',
      schemas: {},
      responses: { 200: { description: 'Request options.', schema: optionsResponse } },
      errors: ['UNAUTHENTICATED', 'PASSKEY_REJECTED'],
      async handle(_input, req, res) {
        const { user } = await secondFactorSubject(deps, req, res);
        res.json({ options: await mfa.passkeyAuthenticationOptions(binding(req), user.id) });
      },
    }),
    apiRoute({
      method: 'post',
      path: '/auth/mfa/passkey',
      summary: 'Finish a sign-in (or confirm a change) with a passkey. The session id changes.',
      tag,
      access: 'public',
      schemas: { body: passkeyAssertionBody },
      responses: { 200: { description: 'Signed in (or confirmed).', schema: userResponse } },
      errors: ['UNAUTHENTICATED', 'PASSKEY_REJECTED'],
      async handle({ body }, req, res) {
        const { user, purpose } = await secondFactorSubject(deps, req, res);
        const verified = await mfa.verifyPasskey(binding(req), body.credential, user.id, purpose, requestMeta(req));
        await finish(req, verified, purpose);
        res.json({ user: toUserView(verified) });
      },
    }),
    apiRoute({
      method: 'post',
      path: '/auth/passkey/options',
      summary: 'Passwordless sign-in, step 1: options for navigator.credentials.get() for any discoverable passkey (user verification required).',
      tag,
      access: 'public',
      schemas: {},
      responses: { 200: { description: 'Request options.', schema: optionsResponse } },
      async handle(_input, req, res) {
        res.json({ options: await mfa.passkeyAuthenticationOptions(binding(req), undefined) });
      },
    }),
    apiRoute({
      method: 'post',
      path: '/auth/passkey',
      summary: 'Passwordless sign-in, step 2: the passkey alone signs in (it is both factors). The session id changes.',
      tag,
      access: 'public',
      schemas: { body: passkeyAssertionBody },
      responses: { 200: { description: 'Signed in.', schema: userResponse } },
      errors: ['PASSKEY_REJECTED'],
      async handle({ body }, req, res) {
        const user = await mfa.verifyPasskey(binding(req), body.credential, undefined, 'sign_in', requestMeta(req));
        await completePasskeySignIn(req, user);
        res.json({ user: toUserView(user) });
      },
    }),
  );
  return routes;
}

