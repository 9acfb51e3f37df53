// src/web/session-state.ts
// What a signed-in session holds and how it starts, changes and ends. The id is regenerated on
// every change of privilege (sign-in, re-authentication, password change), so an id fixed or seen
// before the change is worth nothing after it.

import type { Request, Response } from 'express';
import type { Config } from '../config/config.js';
import type { PublicUser, RequestMeta, Role } from './accounts-port.js';

export interface Flash {
  readonly kind: 'notice' | 'alert';
  readonly message: string;
}

declare module 'express-session' {
  interface SessionData {
    role?: Role;
    /** When the password was last proven in this session (sign-in or re-authentication), ms. */
    reauthenticatedAt?: number;
    /** A message for the next page shown (Post/Redirect/Get), removed once shown. */
    flash?: Flash;
    /** When a second factor was last proven in this session (MFA sign-in or step-up), ms. */
    secondFactorAt?: number;
  }
}

/** How recent a password proof must be before email, password or account deletion changes. */
export const reauthenticationWindowMs = 10 * 60_000;

const maxUserAgentLength = 512;

export function requestMeta(req: Request): RequestMeta {
  const userAgent = req.headers['user-agent'] ?? '';
  return { ip: req.ip ?? req.socket.remoteAddress ?? '', userAgent: userAgent.slice(0, maxUserAgentLength) };
}

/** express-session's regenerate(), as a promise. */
export function regenerateSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => {
    req.session.regenerate((error: unknown) => {
      if (error === undefined || error === null) resolve();
      else reject(error instanceof Error ? error : new Error('session regeneration failed'));
    });
  });
}

/** express-session's save(), as a promise. */
export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => {
    req.session.save((error: unknown) => {
      if (error === undefined || error === null) resolve();
      else reject(error instanceof Error ? error : new Error('session save failed'));
    });
  });
}

export interface StartOptions {
  /** The password was just proven (sign-in, re-authentication, password change). Default true. */
  readonly passwordProven?: boolean;
  /** A second factor was just proven (TOTP, passkey or recovery code). Default false. */
  readonly secondFactorProven?: boolean;
  readonly now?: number;
}

/**
 * Replaces the session with a new id holding this user. The old row is deleted by regenerate(),
 * and the new one is written now, so the caller may revoke the user's other sessions right after.
 * When no password was proven (a privilege change such as confirming the email address), the
 * re-authentication time of the same user's session carries over, and nothing else does; so does
 * the time of the last second-factor proof, unless one was just made.
 */
export async function startUserSession(req: Request, user: PublicUser, options: StartOptions = {}): Promise<void> {
  const { passwordProven = true, secondFactorProven = false, now = Date.now() } = options;
  const flash = req.session.flash;
  const previousProof = req.session.userId === user.id ? req.session.reauthenticatedAt : undefined;
  const previousSecondFactor = req.session.userId === user.id ? req.session.secondFactorAt : undefined;
  await regenerateSession(req);
  req.session.userId = user.id;
  req.session.role = user.role;
  const proof = passwordProven ? now : previousProof;
  if (proof !== undefined) req.session.reauthenticatedAt = proof;
  const secondFactor = secondFactorProven ? now : previousSecondFactor;
  if (secondFactor !== undefined) req.session.secondFactorAt = secondFactor;
  req.session.client = requestMeta(req);
  if (flash !== undefined) req.session.flash = flash;
  await saveSession(req);
}

/** Replaces the session with an empty one, keeping only a message for the next page. */
export async function startAnonymousSession(req: Request, flash?: Flash): Promise<void> {
  await regenerateSession(req);
  if (flash !== undefined) {
    req.session.flash = flash;
    await saveSession(req);
  }
}

/** Ends the session on the server and asks the browser to forget the cookie. */
export async function endSession(req: Request, res: Response, config: Config): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    req.session.destroy((error: unknown) => {
      if (error === undefined || error === null) resolve();
      else reject(error instanceof Error ? error : new Error('session destroy failed'));
    });
  });
  res.clearCookie(config.session.cookieName, { secure: true, httpOnly: true, sameSite: 'lax', path: '/' });
}

export function isFreshlyAuthenticated(req: Request, now: number = Date.now()): boolean {
  const at = req.session.reauthenticatedAt;
  return at !== undefined && now - at >= 0 && now - at <= reauthenticationWindowMs;
}

export function setFlash(req: Request, flash: Flash): void {
  req.session.flash = flash;
}

/** Reads and removes the pending message. */
export function takeFlash(req: Request): Flash | undefined {
  const flash = req.session.flash;
  if (flash !== undefined) delete req.session.flash;
  return flash;
}
