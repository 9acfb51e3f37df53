// src/security/device-cookie.ts
// OWASP's device cookie (Slow Brute Force cheat sheet): a browser that signed in to an account gets
// a signed cookie that lets it keep an allowance of its own while the account is throttled for
// everyone else, so an attacker cannot lock the real user out.
//   value  = "1." deviceId "." subject "." issuedAt "." mac       (all base64url / base36)
//   subject = HMAC(key, userId, passwordChangedAt): names the account without revealing it, and
//             stops vouching once the password changes;
//   mac     = HMAC(key, everything before it), key = deriveKey(masterKey, 'device-cookie').
// `__Host-` prefixed, HttpOnly, Secure, SameSite=Strict, and a name that says nothing.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { hostCookiePrefix } from './cookie-names.js';

/** One neutral letter: nothing about the stack or the purpose. */
export const deviceCookieName = `${hostCookiePrefix}r`;

/** How long a device stays trusted after its last successful sign-in (the cookie is renewed then). */
export const deviceCookieLifetimeMs = 90 * 24 * 60 * 60_000;

export const deviceCookieAttributes = Object.freeze({ secure: true, httpOnly: true, sameSite: 'strict' as const, path: '/' });

export interface DeviceToken {
  /** Random, 128 bits: the key of this browser's own failure allowance. */
  readonly deviceId: string;
  readonly subject: string;
  readonly issuedAt: number;
}

export interface DeviceAccount {
  readonly id: string;
  readonly passwordChangedAt: number;
}

export interface DeviceCookies {
  /** A fresh cookie value for a browser that just signed in. */
  issue(account: DeviceAccount, deviceId?: string): string;
  /** The verified token in a request's cookies, or undefined (absent, forged, expired). */
  read(req: Request): DeviceToken | undefined;
  /** Whether a verified token vouches for this account (same user, password unchanged). */
  vouchesFor(token: DeviceToken, account: DeviceAccount): boolean;
  set(res: Response, value: string): void;
}

const part = /^[A-Za-z0-9_-]{22}$/;

function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals > 0 && pair.slice(0, equals).trim() === name) return pair.slice(equals + 1).trim();
  }
  return undefined;
}

export function createDeviceCookies(key: Buffer, now: () => number = Date.now): DeviceCookies {
  const mac = (text: string) => createHmac('sha256', key).update(text, 'utf8').digest();
  const subjectOf = (account: DeviceAccount) => mac(`subject\u0000${account.id}\u0000${account.passwordChangedAt}`).subarray(0, 16).toString('base64url');

  return {
    issue(account, deviceId = randomBytes(16).toString('base64url')) {
      const body = `1.${deviceId}.${subjectOf(account)}.${now().toString(36)}`;
      return `${body}.${mac(body).toString('base64url')}`;
    },
    read(req) {
      const value = readCookie(req, deviceCookieName);
      if (value === undefined || value.length > 200) return undefined;
      const fields = value.split('.');
      if (fields.length !== 5 || fields[0] !== '1') return undefined;
      const [, deviceId = '', subject = '', issued = '', signature = ''] = fields;
      if (!part.test(deviceId) || !part.test(subject) || !/^[0-9a-z]{1,12}$/.test(issued)) return undefined;
      const expected = mac(fields.slice(0, 4).join('.'));
      const given = Buffer.from(signature, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      const issuedAt = parseInt(issued, 36);
      const age = now() - issuedAt;
      if (age < -60_000 || age > deviceCookieLifetimeMs) return undefined;
      return { deviceId, subject, issuedAt };
    },
    vouchesFor(token, account) {
      const expected = Buffer.from(subjectOf(account), 'utf8');
      const given = Buffer.from(token.subject, 'utf8');
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
    set(res, value) {
      res.cookie(deviceCookieName, value, { ...deviceCookieAttributes, maxAge: deviceCookieLifetimeMs });
    },
  };
}
