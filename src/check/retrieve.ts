// src/check/retrieve.ts
// The first look at a site, collected the way the MDN HTTP Observatory's retriever collects it
// (mdn/mdn-http-observatory src/retriever/retriever.js and session.js), so the score computed from
// it is the scanner's: an HTTP and an HTTPS session side by side, each following up to 10 redirects
// with a cookie jar; a certificate that does not verify is retried without verification and
// remembered as unverified; then /robots.txt and a CORS preflight. The checks read the same answers.

import { CookieJar } from './set-cookie.js';
import { RequestFailed, send, type Exchange } from './net.js';
import type { CheckTarget } from './target.js';

const redirectStatuses: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const maxRedirects = 10;
/** The Origin the scanner sends in its CORS preflight (src/config.js retriever.corsOrigin). */
export const observatoryCorsOrigin = 'https://http-observatory.security.mozilla.org';

export interface RouteEntry {
  readonly url: string;
  readonly status: number;
}

export interface Session {
  readonly start: URL;
  /** The last answer of the chain; null when nothing answered. */
  readonly response: Exchange | null;
  /** False when the certificate did not verify and the chain was fetched again without verification. */
  readonly verified: boolean;
  readonly retriedUnverified: boolean;
  /** Every answer of the chain, first to last. */
  readonly route: readonly RouteEntry[];
  /** Every answer, also those before a hop that failed (then `response` is null, as in the scanner). */
  readonly exchanges: readonly Exchange[];
  readonly jar: CookieJar;
  /** Why nothing answered, or why the first (verified) attempt failed. */
  readonly error: RequestFailed | undefined;
}

export interface RetrieveOptions {
  readonly extraCa: readonly string[];
  readonly timeoutMs: number;
}

function asRequestFailed(error: unknown): RequestFailed {
  if (error instanceof ChainFailed) return error.failure;
  if (error instanceof RequestFailed) return error;
  return new RequestFailed(error instanceof Error ? error.message : String(error), undefined);
}

/** A chain that broke part-way: what answered before it broke is kept for the checks. */
export class ChainFailed extends Error {
  readonly failure: RequestFailed;
  readonly route: readonly RouteEntry[];
  readonly exchanges: readonly Exchange[];
  constructor(failure: RequestFailed, route: readonly RouteEntry[], exchanges: readonly Exchange[]) {
    super(failure.message);
    this.name = 'ChainFailed';
    this.failure = failure;
    this.route = route;
    this.exchanges = exchanges;
  }
}

/** GETs `start` and follows redirects, storing cookies in `jar` and sending them back. */
export async function followChain(
  start: URL,
  jar: CookieJar | undefined,
  options: RetrieveOptions & { readonly verify: boolean; readonly method?: string; readonly headers?: Readonly<Record<string, string>> },
): Promise<{ readonly response: Exchange; readonly route: RouteEntry[]; readonly exchanges: Exchange[] }> {
  const route: RouteEntry[] = [];
  const exchanges: Exchange[] = [];
  let url = start;
  for (let hop = 0; ; hop++) {
    const cookie = jar?.cookieHeaderFor(url);
    let exchange: Exchange;
    try {
      exchange = await send({
        url,
        method: options.method ?? 'GET',
        headers: { ...options.headers, ...(cookie === undefined ? {} : { cookie }) },
        verify: options.verify,
        extraCa: options.extraCa,
        timeoutMs: options.timeoutMs,
      });
    } catch (error) {
      throw new ChainFailed(asRequestFailed(error), route, exchanges);
    }
    route.push({ url: url.href, status: exchange.status });
    exchanges.push(exchange);
    jar?.storeAll(exchange.headers, url);
    const location = exchange.headers.location;
    if (hop >= maxRedirects || !redirectStatuses.has(exchange.status) || location === undefined) return { response: exchange, route, exchanges };
    try {
      url = new URL(location, url);
    } catch {
      return { response: exchange, route, exchanges };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { response: exchange, route, exchanges };
  }
}

/** session.js Session.init(): verified first, and on a certificate error once more without verification. */
export async function openSession(start: URL, options: RetrieveOptions): Promise<Session> {
  const jar = new CookieJar();
  try {
    const chain = await followChain(start, jar, { ...options, verify: true });
    return { start, response: chain.response, verified: true, retriedUnverified: false, route: chain.route, exchanges: chain.exchanges, jar, error: undefined };
  } catch (error) {
    const failure = asRequestFailed(error);
    const partial = error instanceof ChainFailed ? [...error.exchanges] : [];
    if (!failure.certificateError) {
      return { start, response: null, verified: false, retriedUnverified: false, route: [], exchanges: partial, jar, error: failure };
    }
    try {
      const chain = await followChain(start, jar, { ...options, verify: false });
      return { start, response: chain.response, verified: false, retriedUnverified: true, route: chain.route, exchanges: chain.exchanges, jar, error: failure };
    } catch (retryError) {
      const retryPartial = retryError instanceof ChainFailed ? [...retryError.exchanges] : partial;
      return { start, response: null, verified: false, retriedUnverified: true, route: [], exchanges: retryPartial, jar, error: asRequestFailed(retryError) };
    }
  }
}

export interface Retrieval {
  readonly http: Session;
  readonly https: Session;
  /** responses.auto: the HTTPS session when HTTPS answered, else the HTTP one; null when neither did. */
  readonly auto: Session | null;
  readonly robots: Exchange | null;
  readonly cors: Exchange | null;
  /** Cookies the scanner's jar ends up with (robots.txt's count only after an unverified retry, as in session.js). */
  readonly observatoryCookies: CookieJar;
}

export async function retrieve(target: CheckTarget, options: RetrieveOptions): Promise<Retrieval> {
  const [http, https] = await Promise.all([openSession(target.httpUrl, options), openSession(target.httpsUrl, options)]);
  const auto = https.response !== null ? https : http.response !== null ? http : null;
  if (auto === null) return { http, https, auto, robots: null, cors: null, observatoryCookies: new CookieJar() };

  // retriever.js: robots.txt "to gather additional cookies". The scanner's plain client has no
  // cookie jar, except after a certificate retry, when session.js rebuilds it with the jar.
  const robotsUrl = new URL('/robots.txt', auto.start);
  const answerOrNull = async (chain: Promise<{ readonly response: Exchange }>): Promise<Exchange | null> => {
    try {
      return (await chain).response;
    } catch {
      return null;
    }
  };
  const robots = await answerOrNull(followChain(robotsUrl, auto.retriedUnverified ? auto.jar : undefined, { ...options, verify: false, headers: { accept: 'text/plain,*/*;q=0.8' } }));
  // After a retry the robots.txt request is recorded in the redirect history, so the preflight goes there.
  const corsUrl = auto.retriedUnverified ? robotsUrl : new URL(auto.route.at(-1)?.url ?? auto.start.href);
  const cors = await answerOrNull(
    followChain(corsUrl, undefined, {
      ...options,
      verify: false,
      method: 'OPTIONS',
      headers: { 'access-control-request-method': 'GET', origin: observatoryCorsOrigin },
    }),
  );
  return { http, https, auto, robots, cors, observatoryCookies: auto.jar };
}
