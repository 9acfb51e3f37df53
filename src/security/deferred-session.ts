// src/security/deferred-session.ts
// A visitor without a session cookie has no session to read, yet express-session makes one for
// every such request (a 256-bit id from the CSPRNG, a cookie object, hooks on the answer) and then,
// with saveUninitialized off, throws it away unsaved. Most such requests are public pages that
// never touch it: on the home page that was a sixth of the CPU (issue 8's profile).
//
// So such a request gets a stand-in: reading it finds nothing, as reading a new session would, and
// the first write, delete of a key that exists, or use of a session method (save, regenerate, id,
// cookie...) makes the real session there and then through express-session, which for a request
// without a cookie does all its work synchronously, and applies the operation to it. From then on
// req.session is express-session's own object and the stand-in forwards to it. Nothing can be
// written to a stand-in and lost, and cookies, saving and regeneration are express-session's.

import type { Request, RequestHandler, Response } from 'express';
import type session from 'express-session';

/**
 * True unless the Cookie header certainly has no cookie called `cookieName`. A substring test: it
 * can only err towards "present" (another cookie whose name ends with this one), which is safe:
 * such a request goes through express-session as before.
 */
export function mayHaveSessionCookie(req: Pick<Request, 'headers'>, cookieName: string): boolean {
  const header = req.headers.cookie;
  return header !== undefined && header.includes(`${cookieName}=`);
}

/** What a stand-in does not answer by itself: express-session's own members. */
const sessionMembers: ReadonlySet<PropertyKey> = new Set(['id', 'cookie', 'regenerate', 'destroy', 'reload', 'resetMaxAge', 'save', 'touch']);

export interface DeferredSessionOptions {
  /** express-session's middleware. */
  readonly start: RequestHandler;
  /** express-session may call back again after the answer if saving failed: that error goes here. */
  readonly onLateError: (error: unknown) => void;
}

/**
 * Puts a stand-in session on a request that came without a session cookie (see above). Call it
 * where express-session would have run.
 */
export function deferSession(req: Request, res: Response, { start, onLateError }: DeferredSessionOptions): void {
  let real: session.Session | undefined;

  const materialise = (): session.Session => {
    if (real !== undefined) return real;
    // A session cookie can no longer be sent: refuse loudly rather than keep state nobody can find.
    if (res.headersSent) throw new Error('a session was first needed after the answer had started');
    Reflect.deleteProperty(req, 'session');
    Reflect.deleteProperty(req, 'sessionID');
    let continued = false;
    let failure: unknown;
    start(req, res, (error?: unknown) => {
      if (!continued) {
        continued = true;
        failure = error;
        return;
      }
      if (error !== undefined && error !== null) onLateError(error);
    });
    if (failure !== undefined && failure !== null) throw failure instanceof Error ? failure : new Error('express-session could not make a session');
    // Without a cookie express-session generates the session and continues synchronously.
    const made = Reflect.get(req, 'session') as session.Session | undefined;
    if (!(continued as boolean) || made === undefined) throw new Error('express-session did not make a session synchronously');
    real = made;
    return real;
  };

  const forward = (target: session.Session, key: PropertyKey): unknown => {
    const value: unknown = Reflect.get(target, key, target);
    return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
  };

  // The target is never used: every trap answers from `real`, or as an empty session would.
  const standIn = new Proxy(Object.create(null) as session.Session, {
    get(_target, key) {
      if (real !== undefined) return forward(real, key);
      if (sessionMembers.has(key)) return forward(materialise(), key);
      // Nothing has been written, so there is nothing to read (a new session is empty too).
      return undefined;
    },
    set(_target, key, value) {
      return Reflect.set(materialise(), key, value);
    },
    deleteProperty(_target, key) {
      return real === undefined ? true : Reflect.deleteProperty(real, key);
    },
    defineProperty(_target, key, descriptor) {
      return Reflect.defineProperty(materialise(), key, descriptor);
    },
    has(_target, key) {
      return real === undefined ? sessionMembers.has(key) : Reflect.has(real, key);
    },
    ownKeys() {
      return real === undefined ? [] : Reflect.ownKeys(real);
    },
    getOwnPropertyDescriptor(_target, key) {
      if (real === undefined) return undefined;
      const descriptor = Reflect.getOwnPropertyDescriptor(real, key);
      // A proxy may not report a property its (empty) target lacks as non-configurable.
      return descriptor === undefined ? undefined : { ...descriptor, configurable: true };
    },
  });

  Object.defineProperty(req, 'session', { configurable: true, enumerable: true, writable: true, value: standIn });
  // Code that asks for the id wants a real session (it would have had one before).
  Object.defineProperty(req, 'sessionID', {
    configurable: true,
    enumerable: true,
    // (materialise replaces this accessor with express-session's own plain property.)
    get: () => materialise().id,
  });
}
