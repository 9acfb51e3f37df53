// src/web/mfa-session.ts
// The session's side of multi-factor authentication (issue 4):
//  - a password accepted on an account with a second factor opens a *pending* session: a new id,
//    no user in it (so it reaches nothing that needs one), only what the second-factor page needs,
//    for at most five minutes; the second factor then regenerates the id again and signs in;
//  - changes to second factors need a recent password *and* a recent second factor (step-up);
//  - PORTCULLIS_MFA_REQUIRED: an account that must have a second factor and has none can reach
//    only enrolment (and what enrolment itself needs) until it has one;
//  - recovery codes just made are kept sealed in the session for one showing and one download.

import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError, isAppError } from '../errors/app-error.js';
import { createSecretBox, type SecretBox } from '../security/encryption.js';
import type { MfaService, SecondFactorMethod } from '../accounts/mfa/service.js';
import type { AccountOperations, PublicUser } from './accounts-port.js';
import { returnQuery } from './return-path.js';
import type { WebDependencies } from './dependencies.js';
import { isFreshlyAuthenticated, reauthenticationWindowMs, regenerateSession, requestMeta, saveSession, setFlash, startUserSession } from './session-state.js';

export interface PendingSignIn {
  readonly userId: string;
  /** When the password was accepted, ms. */
  readonly startedAt: number;
  /** Where to go once signed in (already checked to be a path on this site). */
  readonly returnTo: string;
}

export interface HeldRecoveryCodes {
  /** The codes, sealed (AES-256-GCM) for this user: the sessions table never holds them in the clear. */
  readonly sealed: string;
  readonly userId: string;
  readonly issuedAt: number;
  /** The page showed them once already; only the download is left. */
  readonly shown: boolean;
}

declare module 'express-session' {
  interface SessionData {
    /** Password accepted, second factor awaited. Grants nothing but the second-factor step. */
    pendingSignIn?: PendingSignIn;
    /** Recovery codes just made, for one showing and one download. */
    freshRecoveryCodes?: HeldRecoveryCodes;
    /** Set when a passkey ceremony starts, so an anonymous session is stored and keeps its id. */
    passkeyCeremonyAt?: number;
  }
}

/** A pending sign-in lasts at most this long (issue 4: five minutes). */
export const pendingSignInLifetimeMs = 5 * 60_000;
/** A second-factor proof counts as recent for as long as a password proof does. */
export const secondFactorWindowMs = reauthenticationWindowMs;
/** Fresh recovery codes can be shown and downloaded for this long. */
export const heldRecoveryCodesLifetimeMs = 10 * 60_000;

/**
 * After a correct password: if the account has a second factor, replaces the session with a
 * pending one and returns the methods that can finish the sign-in; otherwise returns undefined
 * and the caller signs in as before.
 */
export async function beginSecondFactorIfDue(req: Request, mfa: MfaService, user: PublicUser, returnTo: string, now: number = Date.now()): Promise<SecondFactorMethod[] | undefined> {
  const methods = await mfa.methodsFor(user.id);
  if (methods.length === 0) return undefined;
  await regenerateSession(req);
  req.session.pendingSignIn = { userId: user.id, startedAt: now, returnTo };
  req.session.client = requestMeta(req);
  await saveSession(req);
  return methods;
}

/** The session's pending sign-in while it lasts; an expired one is dropped. */
export function pendingSignIn(req: Request, now: number = Date.now()): PendingSignIn | undefined {
  const pending = req.session.pendingSignIn;
  if (pending === undefined) return undefined;
  if (now < pending.startedAt || now - pending.startedAt > pendingSignInLifetimeMs) {
    delete req.session.pendingSignIn;
    return undefined;
  }
  return pending;
}

/**
 * The account a pending sign-in is for, if it can still finish: not disabled or deleted, and its
 * password not changed (a reset, say) since it was accepted. Otherwise the pending state ends.
 */
export async function pendingAccount(req: Request, accounts: Pick<AccountOperations, 'getUser'>, now: number = Date.now()): Promise<{ pending: PendingSignIn; user: PublicUser } | undefined> {
  const pending = pendingSignIn(req, now);
  if (pending === undefined) return undefined;
  const user = await accounts.getUser(pending.userId);
  if (user === undefined || user.disabled || user.passwordChangedAt > pending.startedAt) {
    delete req.session.pendingSignIn;
    return undefined;
  }
  return { pending, user };
}

/** The second factor was proven: a new session id, fully signed in, the proof time recorded. */
export async function completeSignIn(req: Request, user: PublicUser): Promise<void> {
  delete req.session.pendingSignIn;
  await startUserSession(req, user, { secondFactorProven: true });
}

/** Passwordless: a verified passkey is both factors at once. */
export async function completePasskeySignIn(req: Request, user: PublicUser): Promise<void> {
  delete req.session.pendingSignIn;
  await startUserSession(req, user, { passwordProven: true, secondFactorProven: true });
}

/** A step-up while signed in: a new session id, the second-factor time renewed, nothing else. */
export async function completeStepUp(req: Request, user: PublicUser): Promise<void> {
  await startUserSession(req, user, { passwordProven: false, secondFactorProven: true });
}

export function isSecondFactorFresh(req: Request, now: number = Date.now()): boolean {
  const at = req.session.secondFactorAt;
  return at !== undefined && now - at >= 0 && now - at <= secondFactorWindowMs;
}

/** The id a WebAuthn challenge is bound to: a hash, so the stored row holds no usable session id. */
export function ceremonyBinding(req: Request, hash: (sessionId: string) => string, now: number = Date.now()): string {
  // Touching the session makes express-session store it (and set the cookie) even when anonymous.
  req.session.passkeyCeremonyAt = now;
  return hash(req.sessionID);
}

export type Surface = 'page' | 'api';

/**
 * May this session change the account's second factors? A password proof from the last ten
 * minutes, and, when the account has a second factor, a second-factor proof from the last ten
 * minutes too (ASVS 7.5.1). Throws for the API; answers false after redirecting a page visitor.
 */
export async function allowMfaChange(req: Request, res: Response, mfa: MfaService, user: PublicUser, surface: Surface, comeBack: string): Promise<boolean> {
  if (!isFreshlyAuthenticated(req)) {
    if (surface === 'api') throw new AppError('REAUTHENTICATION_REQUIRED');
    setFlash(req, { kind: 'notice', message: 'For your security, confirm your password to change two-step verification.' });
    res.redirect(303, `/reauthenticate${returnQuery(comeBack)}`);
    return false;
  }
  if (!isSecondFactorFresh(req) && (await mfa.isEnabled(user.id))) {
    if (surface === 'api') throw new AppError('SECOND_FACTOR_REQUIRED');
    setFlash(req, { kind: 'notice', message: 'For your security, confirm with your second factor to change two-step verification.' });
    res.redirect(303, `/second-factor${returnQuery(comeBack)}`);
    return false;
  }
  return true;
}

/** Page middleware form of allowMfaChange; refused visitors come back to `comeBack` (or the page itself). */
export function requireMfaChangeAllowed(mfa: MfaService, comeBack = '/account/mfa'): RequestHandler {
  return async function mfaChangeAllowed(req: Request, res: Response, next: NextFunction) {
    const user = res.locals.user;
    if (user === undefined) throw new Error('requireMfaChangeAllowed() used on a route without requireAccess()');
    if (await allowMfaChange(req, res, mfa, user, 'page', req.method === 'GET' ? req.originalUrl : comeBack)) next();
  };
}

// Pages and API routes an account being made to enrol can still use: enrolment itself, what it
// needs (re-authentication, the second-factor step, email confirmation) and signing out.
const allowedWhileEnrolling: readonly RegExp[] = [
  /^\/account\/mfa(\/|$)/,
  /^\/second-factor(\/|$)/,
  /^\/reauthenticate$/,
  /^\/sign-out$/,
  /^\/verify-email(\/|$)/,
  /^\/api\/v1\/me\/mfa(\/|$)/,
  /^\/api\/v1\/auth\//,
  /^\/api\/v1\/me\/reauthenticate$/,
  /^\/api\/v1\/me\/email\/verification$/,
  /^\/api\/v1\/openapi\.json$/,
];

/**
 * PORTCULLIS_MFA_REQUIRED at work: a signed-in account the policy covers and that has no second
 * factor reaches nothing but enrolment. Pages redirect there; the API answers MFA_ENROLMENT_REQUIRED.
 */
export function createMfaEnrolmentGate(mfa: MfaService, apiPrefix = '/api/'): RequestHandler {
  return async function mfaEnrolmentGate(req: Request, res: Response, next: NextFunction) {
    const user = res.locals.user;
    if (user === undefined || !mfa.isRequiredFor(user.role) || allowedWhileEnrolling.some((pattern) => pattern.test(req.path))) {
      next();
      return;
    }
    if (await mfa.isEnabled(user.id)) {
      next();
      return;
    }
    req.log.info({ userId: user.id, method: req.method, path: req.path }, 'second factor required before anything else');
    if (req.path.startsWith(apiPrefix)) throw new AppError('MFA_ENROLMENT_REQUIRED');
    setFlash(req, { kind: 'alert', message: 'Your account must use two-step verification. Set it up to continue.' });
    res.redirect(303, '/account/mfa');
  };
}

/** The box fresh recovery codes are sealed with in the session (the 'data-encryption' key). */
export function recoveryCodeBox(masterKey: Buffer): SecretBox {
  return createSecretBox(masterKey);
}

const heldAssociatedData = (userId: string) => `recovery-codes:${userId}`;

/** Keeps just-made codes, sealed, for one showing and one download. */
export function holdRecoveryCodes(req: Request, box: SecretBox, userId: string, codes: readonly string[], now: number = Date.now()): void {
  if (codes.length === 0) return;
  req.session.freshRecoveryCodes = { sealed: box.seal(codes.join(' '), heldAssociatedData(userId)), userId, issuedAt: now, shown: false };
}

function held(req: Request, box: SecretBox, userId: string, now: number): { codes: string[]; shown: boolean } | undefined {
  const value = req.session.freshRecoveryCodes;
  if (value === undefined) return undefined;
  if (value.userId !== userId || now < value.issuedAt || now - value.issuedAt > heldRecoveryCodesLifetimeMs) {
    delete req.session.freshRecoveryCodes;
    return undefined;
  }
  try {
    return { codes: box.open(value.sealed, heldAssociatedData(userId)).split(' '), shown: value.shown };
  } catch {
    delete req.session.freshRecoveryCodes;
    return undefined;
  }
}

/** The codes for their one showing; afterwards only the download can have them. */
export function showRecoveryCodes(req: Request, box: SecretBox, userId: string, now: number = Date.now()): string[] | undefined {
  const found = held(req, box, userId, now);
  const value = req.session.freshRecoveryCodes;
  if (found === undefined || found.shown || value === undefined) return undefined;
  req.session.freshRecoveryCodes = { ...value, shown: true };
  return found.codes;
}

/** The codes for their one download; they leave the session. */
export function takeRecoveryCodes(req: Request, box: SecretBox, userId: string, now: number = Date.now()): string[] | undefined {
  const found = held(req, box, userId, now);
  delete req.session.freshRecoveryCodes;
  return found?.codes;
}

/** Forgets codes not yet downloaded (the person says they have saved them). */
export function dropRecoveryCodes(req: Request): void {
  delete req.session.freshRecoveryCodes;
}

/**
 * Runs a code check (TOTP or recovery code) through the sign-in throttle's second-factor hook
 * when there is one, for the pages and the API alike; a refusal by either is a wrong code.
 */
export async function checkSecondFactorCode(deps: Pick<WebDependencies, 'secondFactorGate'>, req: Request, userId: string, check: () => Promise<unknown>): Promise<void> {
  const verify = async () => {
    try {
      await check();
      return true;
    } catch (error) {
      if (isAppError(error) && error.code === 'MFA_CODE_INVALID') return false;
      throw error;
    }
  };
  const ok = deps.secondFactorGate === undefined ? await verify() : await deps.secondFactorGate(req, userId, verify);
  if (!ok) throw new AppError('MFA_CODE_INVALID');
}
