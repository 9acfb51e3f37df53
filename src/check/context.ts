// src/check/context.ts
// What every URL check group gets: the target, the first look at the site (retrieve.ts), and one
// probe() for further requests that never throws, is bounded in time, and records every answer so
// the cookie check sees cookies set anywhere.

import type { Exchange, RequestFailed, RequestSpec } from './net.js';
import type { Finding, Practice } from './finding.js';
import type { Progress } from './progress.js';
import type { Retrieval, Session } from './retrieve.js';
import type { CheckTarget } from './target.js';

export interface UrlCheckOptions {
  /** Extra trusted certificates (PEM), from --ca. */
  readonly extraCa: readonly string[];
  /** Per-request deadline in milliseconds. */
  readonly timeoutMs: number;
  /** --probe-rate-limit. */
  readonly probeRateLimit: boolean;
  /** --i-own-this-site: allows the rate-limit burst against a host that is not this machine. */
  readonly iOwnThisSite: boolean;
  /** Where the body probes POST (default: the URL's path). */
  readonly postPath?: string;
  /** The clock, for certificate expiry (tests pin it). */
  readonly now?: Date;
}

export type ProbeSpec = Omit<RequestSpec, 'url' | 'timeoutMs' | 'extraCa'> & {
  /** A path on the site's origin, or a full URL. */
  readonly path: string;
};

export interface ProbeAnswer {
  /** What was sent: the method, the URL, and the request target as written on the wire. */
  readonly request: { readonly method: string; readonly url: string; readonly target: string };
  readonly exchange: Exchange | undefined;
  readonly failure: RequestFailed | undefined;
}

export interface UrlCheckContext {
  readonly target: CheckTarget;
  readonly retrieval: Retrieval;
  /** The session the site's headers are judged on (HTTPS when it answered). */
  readonly auto: Session;
  /** Its last answer. */
  readonly base: Exchange;
  /** Where that answer came from: probes go to this origin. */
  readonly baseUrl: URL;
  readonly options: UrlCheckOptions;
  readonly progress: Progress;
  probe(spec: ProbeSpec): Promise<ProbeAnswer>;
  /** Every answer so far with the URL it came from (retrieval and probes). */
  answers(): readonly { readonly url: URL; readonly exchange: Exchange }[];
}

/** A check group: a name for the progress line, the practice it mostly serves, and the findings it makes. */
export interface UrlCheckGroup {
  readonly name: string;
  readonly practice: Practice;
  run(context: UrlCheckContext): Promise<Finding[]>;
}

/** The first `length` characters of a text, on one line, for evidence. */
export function snippet(text: string, length = 160): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > length ? `${oneLine.slice(0, length)}…` : oneLine;
}

export function headerValue(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined {
  const value = new Map(Object.entries(headers)).get(name);
  return Array.isArray(value) ? value.join(', ') : value;
}
