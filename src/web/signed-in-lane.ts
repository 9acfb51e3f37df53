// src/web/signed-in-lane.ts
// The pages a signed-in person asks for most (the home page, GET /api/v1/me) are answered by the
// server's request listener, before Express (issue 8). Express's dispatch and its chain of twenty
// middlewares cost about four times the whole of what these answers need; the guest lane
// (web/guest-lane.ts) already answers a guest's home page this way.
//
// Nothing the chain checks is skipped. For each request the lane takes:
//   - the session cookie is read as express-session reads it: the same parser, the same signature
//     (security/session-cookie.ts); a forged or tampered cookie goes to the chain;
//   - the session is read from the store through express-session's own Store API, so the store's
//     rules hold as they do for the chain: idle and absolute limits on the server, a revoked
//     session gone at once;
//   - the account is read fresh from the database, as loadCurrentUser reads it: a disabled or
//     deleted account goes to the chain, which ends the session;
//   - the request is counted against the general limit in the shared store, and over the limit
//     refused with the chain's 429;
//   - the session's activity is recorded as express-session records it when the answer ends
//     (store.touch: nothing within the touch interval);
//   - the answer carries the security headers, X-Request-Id, the limit's headers and no-store; it
//     is logged on the access log and timed under its route.
//
// The lane answers only what the chain would certainly answer with the same bytes and without
// changing the session. Everything else goes to Express untouched, where it meets every rule as
// before: any other method, path or query string, plain HTTP, a body, a conditional request, a
// forwarding header to report; no valid session cookie; a session without a user (a guest with a
// form token, a pending second factor); a message waiting to be shown; a home page whose form token
// is still to be made; an account that must confirm its email first (the chain redirects) or must
// use a second factor (the chain's enrolment gate decides); the session store or the database
// failing (the chain answers 503), or the rate-limit store failing (the chain fails open).
// test/web/signed-in-lane.test.ts holds the lane's answers to the chain's, byte for byte.

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type session from 'express-session';
import proxyAddr from 'proxy-addr';
import type { StateBackend } from '../security/availability.js';
import { createLaneWriter, createRefusalWriter, handingOnTo, plainPageTarget, type LaneAnswerOptions } from '../security/early-refusal.js';
import type { GeneralCount } from '../security/rate-limit.js';
import { readSessionId } from '../security/session-cookie.js';
import type { PublicUser, Role } from './accounts-port.js';
import { meAnswer } from './api/views.js';
import { homeDocument } from './routes/pages.js';

/** One page of the lane: its route template, and its answer (or undefined: the chain answers). */
interface SignedInPage {
  /** The metrics' route label, as the chain names the matched route. */
  readonly route: string;
  readonly contentType: string;
  /** The answer for this account and session; undefined when the chain would answer otherwise. */
  readonly render: (user: PublicUser, data: session.SessionData) => string | undefined;
}

export interface SignedInLaneOptions extends LaneAnswerOptions {
  readonly siteName: string;
  /** The session cookie's name and express-session's secret. */
  readonly cookieName: string;
  readonly cookieSecret: string;
  /** express-session's store (get and touch). */
  readonly store: session.Store;
  /** The shared session store's connection; while it is away the chain answers. */
  readonly backend: StateBackend | undefined;
  /** The account, fresh from the database (AccountOperations.getUser). */
  readonly getUser: (userId: string) => Promise<PublicUser | undefined>;
  /** Whether this role must use a second factor (the chain's enrolment gate then decides). */
  readonly secondFactorRequiredFor: (role: Role) => boolean;
  /** Unverified accounts are sent to the verification page by the home page. */
  readonly requireVerifiedEmail: boolean;
  /** Counts the request against the general limit (RateLimiters.countGeneral). */
  readonly countGeneral: (address: string) => Promise<GeneralCount>;
  /** Where a request goes when the lane leaves it after all. */
  readonly application: RequestListener;
  /** Told when the lane fails to write its answer (the request is then the application's). */
  readonly onError: (error: unknown) => void;
  /** Told when recording the session's activity fails; the answer is still given, as express-session gives it. */
  readonly onTouchFailed: (error: unknown) => void;
}

/** Takes the request (answers it, or hands it on once it knows it cannot) and returns true, or returns false untouched. */
export type SignedInLane = (req: IncomingMessage, res: ServerResponse) => boolean;

function readSession(store: session.Store, sid: string): Promise<session.SessionData | null | undefined> {
  return new Promise((resolve, reject) => {
    store.get(sid, (error: unknown, data?: session.SessionData | null) => {
      if (error !== undefined && error !== null) reject(error instanceof Error ? error : new Error('session read failed'));
      else resolve(data);
    });
  });
}

/** store.touch as express-session calls it when an unchanged session's answer ends. */
function touchSession(store: session.Store, sid: string, data: session.SessionData): Promise<void> {
  return new Promise((resolve, reject) => {
    if (store.touch === undefined) {
      resolve();
      return;
    }
    store.touch(sid, data, (error?: unknown) => {
      if (error !== undefined && error !== null) reject(error instanceof Error ? error : new Error('session touch failed'));
      else resolve();
    });
  });
}

export function createSignedInLane(options: SignedInLaneOptions): SignedInLane {
  const { siteName, cookieName, store, backend, getUser, secondFactorRequiredFor, requireVerifiedEmail, countGeneral, application, onError, onTouchFailed, trustProxy } = options;
  const secrets = [options.cookieSecret];
  const writeAnswer = createLaneWriter(options);
  const writeRefusal = createRefusalWriter(options);

  const pages = new Map<string, SignedInPage>([
    [
      '/',
      {
        route: '/',
        contentType: 'text/html; charset=utf-8',
        render: (user, data) => {
          // The chain redirects an unverified account, shows (and removes) a waiting message, or
          // makes the session's form token (a write): all of that stays the chain's.
          if (requireVerifiedEmail && !user.emailVerified) return undefined;
          if (data.flash !== undefined || typeof data.csrfToken !== 'string') return undefined;
          return homeDocument({ siteName, user, flash: undefined, csrfToken: data.csrfToken });
        },
      },
    ],
    [
      '/api/v1/me',
      {
        // Open to unverified accounts too (access 'signed-in').
        route: '/api/v1/me',
        contentType: 'application/json; charset=utf-8',
        render: (user) => JSON.stringify(meAnswer(user)),
      },
    ],
  ]);

  const handOn = handingOnTo(application, onError);

  /** The answer's body, or undefined when the chain must answer: read the session, then the account. */
  const decide = async (page: SignedInPage, sid: string): Promise<{ body: string; data: session.SessionData } | undefined> => {
    const data = await readSession(store, sid);
    const userId = data?.userId;
    if (data === null || data === undefined || typeof userId !== 'string') return undefined;
    const user = await getUser(userId);
    if (user === undefined || user.disabled || secondFactorRequiredFor(user.role)) return undefined;
    const body = page.render(user, data);
    return body === undefined ? undefined : { body, data };
  };

  const answer = async (req: IncomingMessage, res: ServerResponse, path: string, page: SignedInPage, sid: string, ip: string, started: bigint): Promise<void> => {
    let ready: { body: string; data: session.SessionData; count: GeneralCount } | undefined;
    try {
      const decided = await decide(page, sid);
      // Counted only once the lane is sure to answer: a request handed on is counted by the chain.
      ready = decided === undefined ? undefined : { ...decided, count: await countGeneral(ip) };
    } catch {
      // A store or the database failed: the chain meets the same failure and answers it (503 for
      // the session store or the database, open for the rate-limit store), and logs it.
      ready = undefined;
    }
    if (ready === undefined) {
      handOn(req, res);
      return;
    }
    const { body, data, count } = ready;
    try {
      if (count.refused) {
        writeRefusal(req, res, path, ip, count.headers, 'general', started);
        return;
      }
      // As express-session does when an unchanged session's answer ends: record the activity
      // (nothing within the touch interval), then answer; a failure is logged, the answer given.
      await touchSession(store, sid, data).catch(onTouchFailed);
      writeAnswer(req, res, { status: 200, path, ip, route: page.route, limitHeaders: count.headers, contentType: page.contentType, body: () => body, started });
    } catch (error) {
      onError(error);
      handOn(req, res);
    }
  };

  return function serveSignedInPage(req, res) {
    const target = plainPageTarget(req, pages, trustProxy);
    if (target === undefined) return false;
    const { path, page } = target;
    // While the shared session store is away, the chain's session gate answers.
    if (backend !== undefined && !backend.isReady()) return false;
    const sid = readSessionId(req.headers.cookie, cookieName, secrets);
    if (sid === undefined) return false;
    const ip = proxyAddr(req, trustProxy) as string | undefined;
    // A socket already closed has no address; the chain deals with that as it always did.
    if (ip === undefined || ip === '') return false;
    void answer(req, res, path, page, sid, ip, process.hrtime.bigint());
    return true;
  };
}
