// src/web/guest-lane.ts
// Pages that are the same for every visitor who is not signed in (the home page) are answered to
// such visitors by the server's request listener, before Express (issue 8). Express's own dispatch
// (its prototypes on the request and answer, its router) costs about five sixths of a bare Express
// "hello"; the home page is what anonymous traffic and crawlers ask for most.
//
// Every defence still applies, exactly as the chain applies it to that page: the request is counted
// against the general rate limit (and refused with the chain's 429 when over it), and the answer
// carries the security headers, X-Request-Id, the limit's draft-8 headers, no-store, and the page,
// byte for byte; it is logged on the access log and timed in the metrics under its route. A test
// compares the lane's answer with the chain's, header by header.
//
// The lane takes a request only when the chain would certainly serve that page without a session:
// GET or HEAD; the request target exactly the page's path (no query string, which the route would
// validate); HTTPS (or X-Forwarded-Proto from a trusted proxy); no body; no session cookie (a
// signed-in visitor, or one with a message waiting, sees another page: web/signed-in-lane.ts); no
// forwarding header that the chain would report as a misconfiguration; not a conditional request.
// Anything else, and any failure of the rate-limit store (which the chain then meets, and fails
// open on, as before), goes to Express unchanged. Routes a team adds are never answered here.

import { Buffer } from 'node:buffer';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import proxyAddr from 'proxy-addr';
import { mayHaveSessionCookie } from '../security/deferred-session.js';
import { createLaneWriter, createRefusalWriter, handingOnTo, plainPageTarget, type LaneAnswerOptions } from '../security/early-refusal.js';
import type { GeneralCount } from '../security/rate-limit.js';

export interface GuestLaneOptions extends LaneAnswerOptions {
  /** Path → the document every guest gets there (rendered once, at start). */
  readonly pages: ReadonlyMap<string, string>;
  /** The session cookie's name: a request that may carry it goes to Express. */
  readonly cookieName: string;
  /** Counts the request against the general limit (RateLimiters.countGeneral). */
  readonly countGeneral: (address: string) => Promise<GeneralCount>;
  /** Where a request goes when the lane cannot answer it after all (the store failed). */
  readonly application: RequestListener;
  /**
   * Told when the lane fails to write its answer (the request is then the application's, unless
   * the answer had started). A failing store is not reported here: the chain's limiter meets the
   * same failure and logs it, once a minute.
   */
  readonly onError: (error: unknown) => void;
}

/** Takes the request (answers it, now or once counted) and returns true, or returns false untouched. */
export type GuestLane = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createGuestLane(options: GuestLaneOptions): GuestLane {
  const { cookieName, countGeneral, application, onError, trustProxy } = options;
  const writeAnswer = createLaneWriter(options);
  const writeRefusal = createRefusalWriter(options);
  const pages = new Map<string, Buffer>();
  for (const [path, document] of options.pages) pages.set(path, Buffer.from(document, 'utf8'));

  const answer = (req: IncomingMessage, res: ServerResponse, path: string, page: Buffer, ip: string, count: GeneralCount, started: bigint): void => {
    if (count.refused) {
      writeRefusal(req, res, path, ip, count.headers, 'general', started);
      return;
    }
    // The route's template, as the metrics middleware names a matched route: the page's path.
    writeAnswer(req, res, { status: 200, path, ip, route: path, limitHeaders: count.headers, contentType: 'text/html; charset=utf-8', body: () => page, started });
  };

  const handOn = handingOnTo(application, onError);

  return function serveGuestPage(req, res) {
    const target = plainPageTarget(req, pages, trustProxy);
    if (target === undefined || mayHaveSessionCookie(req, cookieName)) return false;
    const { path, page } = target;
    const ip = proxyAddr(req, trustProxy) as string | undefined;
    // A socket already closed has no address; the chain deals with that as it always did.
    if (ip === undefined || ip === '') return false;
    const started = process.hrtime.bigint();
    countGeneral(ip).then(
      (count) => {
        try {
          answer(req, res, path, page, ip, count, started);
        } catch (error) {
          onError(error);
          handOn(req, res);
        }
      },
      () => {
        // The store is away: the chain's general limiter meets the same failure, logs it (once a
        // minute) and lets public pages through, as it always did. Nothing was answered yet.
        handOn(req, res);
      },
    );
    return true;
  };
}
