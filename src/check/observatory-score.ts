// src/check/observatory-score.ts
// The MDN HTTP Observatory's score and grade, computed here from the answers `portcullis check`
// collected, so that `check` and the Observatory agree on the same site. A port of
// mdn/mdn-http-observatory v1.4.8 (algorithm version 4):
//   src/analyzer/tests/*.js   the ten tests and the result each one picks
//   src/grader/charts.js      SCORE_TABLE (each result's modifier), GRADE_CHART, MINIMUM_SCORE_FOR_EXTRA_CREDIT
//   src/grader/grader.js      getGradeForScore()
//   src/scanner/index.js      the sum: start at 100, add every modifier; bonuses count only when
//                             the penalties alone leave at least 90
//   src/retriever/*.js        which answers each test reads (reproduced in retrieve.ts)
// Known differences: no HSTS preload list (the scanner's own list is empty offline, conf/hsts-preload.json
// is `{}`), registrable domains without the public-suffix list, and HTML read by html.ts instead of JSDOM.

import type { IncomingHttpHeaders } from 'node:http';
import { parseCsp, parseCspMeta, duplicateWarningsKey, type ParsedCsp } from './csp.js';
import { externalScripts, isHtml, metaPolicies } from './html.js';
import { notChecked, pass, warn, type Finding } from './finding.js';
import type { ObservatorySummary, ObservatoryTestResult } from './report.js';
import { setCookieHeaders, type JarCookie } from './set-cookie.js';

export const observatoryAlgorithmVersion = 4;

/** charts.js SCORE_TABLE: the modifier of every result. */
export const observatoryModifiers: ReadonlyMap<string, number> = new Map([
  ['csp-implemented-with-no-unsafe-default-src-none', 10],
  ['csp-implemented-with-no-unsafe', 5],
  ['csp-implemented-with-unsafe-inline-in-style-src-only', 0],
  ['csp-implemented-with-insecure-scheme-in-passive-content-only', -10],
  ['csp-implemented-with-unsafe-eval', -10],
  ['csp-implemented-with-unsafe-inline', -20],
  ['csp-implemented-with-insecure-scheme', -20],
  ['csp-header-invalid', -25],
  ['csp-not-implemented', -25],
  ['csp-not-implemented-but-reporting-enabled', -25],
  ['csp-implemented-but-duplicate-directives', 0],
  ['cookies-secure-with-httponly-sessions-and-samesite', 5],
  ['cookies-secure-with-httponly-sessions', 0],
  ['cookies-not-found', 0],
  ['cookies-without-secure-flag-but-protected-by-hsts', -5],
  ['cookies-session-without-secure-flag-but-protected-by-hsts', -10],
  ['cookies-without-secure-flag', -20],
  ['cookies-samesite-flag-invalid', -20],
  ['cookies-anticsrf-without-samesite-flag', -20],
  ['cookies-session-without-httponly-flag', -30],
  ['cookies-session-without-secure-flag', -40],
  ['cross-origin-resource-sharing-not-implemented', 0],
  ['cross-origin-resource-sharing-implemented-with-public-access', 0],
  ['cross-origin-resource-sharing-implemented-with-restricted-access', 0],
  ['cross-origin-resource-sharing-implemented-with-universal-access', -50],
  ['redirection-all-redirects-preloaded', 0],
  ['redirection-to-https', 0],
  ['redirection-not-needed-no-http', 0],
  ['redirection-off-host-from-http', -5],
  ['redirection-not-to-https-on-initial-redirection', -10],
  ['redirection-not-to-https', -20],
  ['redirection-missing', -20],
  ['redirection-invalid-cert', -20],
  ['referrer-policy-private', 5],
  ['referrer-policy-not-implemented', 0],
  ['referrer-policy-unsafe', -5],
  ['referrer-policy-header-invalid', -5],
  ['hsts-preloaded', 5],
  ['hsts-implemented-max-age-at-least-six-months', 0],
  ['hsts-implemented-max-age-less-than-six-months', -10],
  ['hsts-not-implemented', -20],
  ['hsts-header-invalid', -20],
  ['hsts-not-implemented-no-https', -20],
  ['hsts-invalid-cert', -20],
  ['sri-implemented-and-all-scripts-loaded-securely', 5],
  ['sri-implemented-and-external-scripts-loaded-securely', 5],
  ['sri-not-implemented-response-not-html', 0],
  ['sri-not-implemented-but-no-scripts-loaded', 0],
  ['sri-not-implemented-but-all-scripts-loaded-from-secure-origin', 0],
  ['sri-not-implemented-but-external-scripts-loaded-securely', -5],
  ['sri-implemented-but-external-scripts-not-loaded-securely', -20],
  ['sri-not-implemented-and-external-scripts-not-loaded-securely', -50],
  ['x-content-type-options-nosniff', 0],
  ['x-content-type-options-not-implemented', -5],
  ['x-content-type-options-header-invalid', -5],
  ['x-frame-options-implemented-via-csp', 5],
  ['x-frame-options-sameorigin-or-deny', 0],
  ['x-frame-options-allow-from-origin', 0],
  ['x-frame-options-not-implemented', -20],
  ['x-frame-options-header-invalid', -20],
  ['corp-header-invalid', -5],
  ['corp-implemented-with-cross-origin', 0],
  ['corp-implemented-with-same-origin', 10],
  ['corp-implemented-with-same-site', 10],
  ['corp-not-implemented', 0],
  ['html-not-parseable', -20],
]);

/** charts.js GRADE_CHART, by score rounded down to a multiple of 5 (100 and above: A+). */
const gradeChart: ReadonlyMap<number, string> = new Map([
  [100, 'A+'],
  [95, 'A'],
  [90, 'A'],
  [85, 'A-'],
  [80, 'B+'],
  [75, 'B'],
  [70, 'B'],
  [65, 'B-'],
  [60, 'C+'],
  [55, 'C'],
  [50, 'C'],
  [45, 'C-'],
  [40, 'D+'],
  [35, 'D'],
  [30, 'D'],
  [25, 'D-'],
  [20, 'F'],
  [15, 'F'],
  [10, 'F'],
  [5, 'F'],
  [0, 'F'],
]);

/** charts.js MINIMUM_SCORE_FOR_EXTRA_CREDIT. */
export const minimumScoreForExtraCredit = 90;

/** grader.js getGradeForScore(). */
export function gradeForScore(rawScore: number): { score: number; grade: string } {
  const score = Math.max(rawScore, 0);
  const key = Math.min(score - (score % 5), 100);
  const grade = gradeChart.get(key);
  if (grade === undefined) throw new Error(`Score of ${key} did not map to a grade`);
  return { score, grade };
}

/** One answer as the scanner holds it: the last of a redirect chain, and whether its certificate verified. */
export interface ObservedResponse {
  readonly url: string;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly verified: boolean;
}

/** What the scanner's retriever collects (src/retriever/retriever.js), as retrieve.ts collects it. */
export interface ObservatoryInput {
  /** The host[:port] scanned, as the scanner was given it. */
  readonly hostname: string;
  /** responses.auto: the HTTPS session's last answer when HTTPS answered at all, else the HTTP one. */
  readonly auto: ObservedResponse | null;
  /** session.url: where the auto session started. */
  readonly autoSessionUrl: URL | null;
  /** responses.http: the HTTP session's last answer, and every URL its chain went through. */
  readonly http: { readonly response: ObservedResponse; readonly route: readonly { readonly url: string; readonly status: number }[] } | null;
  /** responses.https: the HTTPS session's last answer. */
  readonly https: ObservedResponse | null;
  /** Every cookie in the auto session's jar. */
  readonly cookies: readonly JarCookie[];
  /** The answer to the CORS preflight. */
  readonly cors: { readonly headers: IncomingHttpHeaders } | null;
}

function headerValues(response: ObservedResponse | { readonly headers: IncomingHttpHeaders } | null, name: string): string[] {
  if (response === null) return [];
  const value = response.headers[name.toLowerCase()];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function firstHeader(response: ObservedResponse | { readonly headers: IncomingHttpHeaders } | null, name: string): string | null {
  return headerValues(response, name)[0] ?? null;
}

/** analyzer/utils.js onlyIfWorse(). */
function onlyIfWorse(newResult: string, oldResult: string | null, order: readonly string[]): string {
  if (oldResult === null) return newResult;
  return order.indexOf(newResult) > order.indexOf(oldResult) ? newResult : oldResult;
}

interface TestOutput {
  readonly result: string;
  readonly pass: boolean;
}

const dangerouslyBroad = new Set(['ftp:', 'http:', 'https:', '*', 'http://*', 'http://*.*', 'https://*', 'https://*.*']);
const unsafeInline = new Set(["'unsafe-inline'", 'data:']);
const dangerouslyBroadAndUnsafeInline = new Set([...dangerouslyBroad, ...unsafeInline]);
const passiveDirectives = new Set(['img-src', 'media-src']);
const noncesHashes = ["'sha256-", "'sha384-", "'sha512-", "'nonce-"];

function startsWithNonceOrHash(sources: Iterable<string>): boolean {
  return [...sources].some((source) => noncesHashes.some((prefix) => source.startsWith(prefix)));
}

export interface CspAnalysis extends TestOutput {
  /** The combined policy (header and meta), when there was one that parsed. */
  readonly policy: ParsedCsp | undefined;
  readonly flags: {
    readonly unsafeInline: boolean;
    readonly unsafeEval: boolean;
    readonly unsafeInlineStyle: boolean;
    readonly insecureSchemeActive: boolean;
    readonly insecureSchemePassive: boolean;
    readonly defaultNone: boolean;
    readonly antiClickjacking: boolean;
  };
}

/** analyzer/tests/csp.js contentSecurityPolicyTest(). */
export function cspTest(input: ObservatoryInput): CspAnalysis {
  const noFlags = { unsafeInline: false, unsafeEval: false, unsafeInlineStyle: false, insecureSchemeActive: false, insecureSchemePassive: false, defaultNone: false, antiClickjacking: false };
  const response = input.auto;
  const url = input.autoSessionUrl;
  if (response === null || url === null) return { result: 'csp-not-implemented', pass: false, policy: undefined, flags: noFlags };

  const httpCspHeader = headerValues(response, 'content-security-policy');
  const equivCspHeader = isHtml(firstHeader(response, 'content-type') ?? undefined) ? metaPolicies(response.body).csp : [];

  let csp: ParsedCsp;
  try {
    csp = parseCsp([...httpCspHeader, ...equivCspHeader]);
  } catch {
    return { result: 'csp-header-invalid', pass: false, policy: undefined, flags: noFlags };
  }
  let httpHeaderOnlyCsp: ParsedCsp;
  try {
    httpHeaderOnlyCsp = parseCsp(httpCspHeader);
  } catch {
    httpHeaderOnlyCsp = new Map();
  }
  let metaCsp: ParsedCsp;
  try {
    metaCsp = parseCspMeta(equivCspHeader);
  } catch {
    metaCsp = new Map();
  }
  if (httpHeaderOnlyCsp.size + metaCsp.size === 0) {
    const reportOnly = firstHeader(response, 'content-security-policy-report-only');
    return { result: reportOnly === null ? 'csp-not-implemented' : 'csp-not-implemented-but-reporting-enabled', pass: false, policy: undefined, flags: noFlags };
  }

  let result: string | null = null;
  const flags = { ...noFlags };
  // frame-ancestors only counts from the header: browsers ignore it in <meta>.
  const frameAncestors = httpHeaderOnlyCsp.get('frame-ancestors') ?? new Set(['*']);
  const objectSrc = csp.get('object-src') ?? csp.get('default-src') ?? new Set(['*']);
  const scriptSrc = csp.get('script-src') ?? csp.get('default-src') ?? new Set(['*']);
  const styleSrc = csp.get('style-src') ?? csp.get('default-src') ?? new Set(['*']);

  // 'unsafe-inline' is ignored by browsers when a nonce or hash is present.
  for (const sourceList of [scriptSrc, styleSrc]) {
    if (startsWithNonceOrHash(sourceList) && sourceList.has("'unsafe-inline'")) sourceList.delete("'unsafe-inline'");
  }
  if (startsWithNonceOrHash(scriptSrc) && scriptSrc.has("'strict-dynamic'")) {
    for (const source of [...scriptSrc]) {
      if ([...dangerouslyBroad].some((broad) => source.startsWith(broad)) || source === "'self'" || source === "'unsafe-inline'") scriptSrc.delete(source);
    }
  } else if (scriptSrc.has("'strict-dynamic'")) {
    result ??= 'csp-header-invalid';
  }

  const activeSources = [...csp.entries()].filter(([directive]) => !passiveDirectives.has(directive) && directive !== 'script-src').flatMap(([, sources]) => [...sources]);
  activeSources.push(...scriptSrc);
  const passiveSources = [...passiveDirectives].flatMap((directive) => [...(csp.get(directive) ?? csp.get('default-src') ?? new Set<string>())]);

  if ([...scriptSrc].some((source) => dangerouslyBroadAndUnsafeInline.has(source)) || [...objectSrc].some((source) => dangerouslyBroad.has(source))) {
    result ??= 'csp-implemented-with-unsafe-inline';
    flags.unsafeInline = true;
  }
  if (url.protocol === 'https:' && activeSources.some((source) => source.startsWith('http:') || source.startsWith('ftp:'))) {
    result ??= 'csp-implemented-with-insecure-scheme';
    flags.insecureSchemeActive = true;
  }
  if (new Set([...scriptSrc, ...styleSrc]).has("'unsafe-eval'")) {
    result ??= 'csp-implemented-with-unsafe-eval';
    flags.unsafeEval = true;
  }
  if (url.protocol === 'https:' && passiveSources.some((source) => source.startsWith('http:') || source.startsWith('ftp:'))) {
    result ??= 'csp-implemented-with-insecure-scheme-in-passive-content-only';
    flags.insecureSchemePassive = true;
  }
  if ([...styleSrc].some((source) => dangerouslyBroadAndUnsafeInline.has(source))) {
    result ??= 'csp-implemented-with-unsafe-inline-in-style-src-only';
    flags.unsafeInlineStyle = true;
  }
  const defaultSrc = csp.get('default-src');
  if (defaultSrc?.has("'none'") === true && defaultSrc.size === 1) {
    result ??= 'csp-implemented-with-no-unsafe-default-src-none';
    flags.defaultNone = true;
  } else {
    result ??= 'csp-implemented-with-no-unsafe';
  }
  flags.antiClickjacking = ![...frameAncestors].some((source) => dangerouslyBroad.has(source));

  let pass = false;
  if (
    ['csp-implemented-with-no-unsafe', 'csp-implemented-with-no-unsafe-default-src-none', 'csp-implemented-with-unsafe-inline-in-style-src-only', 'csp-implemented-with-insecure-scheme-in-passive-content-only'].includes(result)
  ) {
    pass = true;
    if (csp.has(duplicateWarningsKey)) result = 'csp-implemented-but-duplicate-directives';
  }
  const policy = new Map([...csp.entries()].filter(([key]) => key !== duplicateWarningsKey));
  return { result, pass, policy, flags };
}

/** analyzer/tests/strict-transport-security.js (without a preload list). */
export function hstsTest(input: ObservatoryInput): TestOutput {
  const sixMonths = 15_552_000;
  const response = input.https;
  let result = 'hsts-not-implemented';
  if (response === null) result = 'hsts-not-implemented-no-https';
  else if (!response.verified) result = 'hsts-invalid-cert';
  else {
    const header = headerValues(response, 'strict-transport-security')[0];
    if (header !== undefined) {
      const data = header.slice(0, 1024);
      let maxAge: number | null = null;
      if (data.includes(',')) result = 'hsts-header-invalid';
      else {
        for (const parameter of data.split(';').map((item) => item.trim().toLowerCase())) {
          if (parameter.startsWith('max-age=')) maxAge = Number.parseInt(parameter.slice(8, 128), 10);
        }
        // parseInt may give NaN; the scanner then compares NaN < SIX_MONTHS (false): "at least six months".
        if (maxAge === null) result = 'hsts-header-invalid';
        else result = maxAge < sixMonths ? 'hsts-implemented-max-age-less-than-six-months' : 'hsts-implemented-max-age-at-least-six-months';
      }
    }
  }
  return { result, pass: result === 'hsts-implemented-max-age-at-least-six-months' || result === 'hsts-preloaded' };
}

/** analyzer/tests/cookies.js cookiesTest(). */
export function cookiesTest(input: ObservatoryInput): TestOutput {
  const goodness = [
    'cookies-without-secure-flag-but-protected-by-hsts',
    'cookies-without-secure-flag',
    'cookies-session-without-secure-flag-but-protected-by-hsts',
    'cookies-samesite-flag-invalid',
    'cookies-anticsrf-without-samesite-flag',
    'cookies-session-without-httponly-flag',
    'cookies-session-without-secure-flag',
  ];
  const hsts = hstsTest(input).pass;
  let result: string | null = null;
  let hasMissingSameSite = false;

  if (input.auto !== null) {
    for (const rawCookie of setCookieHeaders(input.auto.headers)) {
      if (containsInvalidSameSite(rawCookie)) result = onlyIfWorse('cookies-samesite-flag-invalid', result, goodness);
    }
  }
  // heroku-session-affinity is ignored by the scanner (mozilla/http-observatory#282).
  const cookies = input.cookies.filter((cookie) => cookie.name !== 'heroku-session-affinity');
  if (cookies.length === 0) {
    result = 'cookies-not-found';
  } else {
    for (const cookie of cookies) {
      const key = cookie.name.toLowerCase();
      const sessionId = key.includes('login') || key.includes('sess');
      const antiCsrf = key.includes('csrf');
      if (!cookie.secure && cookie.sameSite === 'none') result = onlyIfWorse('cookies-samesite-flag-invalid', result, goodness);
      if (!cookie.secure && hsts) result = onlyIfWorse('cookies-without-secure-flag-but-protected-by-hsts', result, goodness);
      else if (!cookie.secure) result = onlyIfWorse('cookies-without-secure-flag', result, goodness);
      if (antiCsrf && cookie.sameSite === undefined) result = onlyIfWorse('cookies-anticsrf-without-samesite-flag', result, goodness);
      if (sessionId && !cookie.secure && hsts) result = onlyIfWorse('cookies-session-without-secure-flag-but-protected-by-hsts', result, goodness);
      else if (sessionId && !cookie.secure) result = onlyIfWorse('cookies-session-without-secure-flag', result, goodness);
      if (sessionId && !cookie.httpOnly) result = onlyIfWorse('cookies-session-without-httponly-flag', result, goodness);
      if (cookie.sameSite === undefined) hasMissingSameSite = true;
    }
    result ??= hasMissingSameSite ? 'cookies-secure-with-httponly-sessions' : 'cookies-secure-with-httponly-sessions-and-samesite';
  }
  return { result, pass: ['cookies-not-found', 'cookies-secure-with-httponly-sessions-and-samesite', 'cookies-secure-with-httponly-sessions'].includes(result) };
}

/** cookies.js containsInvalidSameSiteCookie(). */
function containsInvalidSameSite(cookieString: string): boolean {
  for (const part of cookieString.trim().split(';')) {
    const [key = '', value] = part.trim().split('=');
    if (key.trim().toLowerCase() === 'samesite') {
      if (value === undefined || value === '') return true;
      if (!['lax', 'strict', 'none'].includes(value.trim().toLowerCase())) return true;
    }
  }
  return false;
}

/**
 * analyzer/tests/cors.js. The scanner compares Access-Control-Allow-Origin with the Origin it sent
 * by reading `response.request.headers`, which Node's ClientRequest does not have: the comparison
 * never matches, so "universal access" is never reached. Reproduced as is, so the scores agree;
 * headers.ts reports a credentialed reflection of any origin as its own finding.
 */
export function corsTest(input: ObservatoryInput): TestOutput {
  let result = 'cross-origin-resource-sharing-not-implemented';
  const acao = firstHeader(input.cors, 'access-control-allow-origin');
  if (input.cors !== null && acao !== null) {
    const data = acao.slice(0, 256).trim().toLowerCase();
    result = data === '*' ? 'cross-origin-resource-sharing-implemented-with-public-access' : 'cross-origin-resource-sharing-implemented-with-restricted-access';
  }
  return { result, pass: result !== 'cross-origin-resource-sharing-implemented-with-universal-access' };
}

/** analyzer/tests/redirection.js (without a preload list). */
export function redirectionTest(input: ObservatoryInput): TestOutput {
  let result: string;
  const http = input.http;
  if (http === null) result = 'redirection-not-needed-no-http';
  else if (!http.response.verified) result = 'redirection-invalid-cert';
  else {
    const route = http.route.map((entry) => new URL(entry.url));
    const first = route[0];
    const second = route[1];
    const last = route.at(-1);
    if (route.length <= 1 || first === undefined || second === undefined || last === undefined) result = 'redirection-missing';
    else if (last.protocol !== 'https:') result = 'redirection-not-to-https';
    else if (second.protocol === 'http:') result = 'redirection-not-to-https-on-initial-redirection';
    else if (first.protocol === 'http:' && second.protocol === 'https:' && first.hostname !== second.hostname) result = 'redirection-off-host-from-http';
    else result = 'redirection-to-https';
  }
  return { result, pass: ['redirection-not-needed-no-http', 'redirection-all-redirects-preloaded', 'redirection-to-https'].includes(result) };
}

/** analyzer/tests/referrer-policy.js. */
export function referrerPolicyTest(input: ObservatoryInput): TestOutput {
  const goodness = ['no-referrer', 'same-origin', 'strict-origin', 'strict-origin-when-cross-origin'];
  const badness = ['origin', 'origin-when-cross-origin', 'unsafe-url', 'no-referrer-when-downgrade'];
  const valid = [...goodness, ...badness];
  const response = input.auto;
  if (response === null) return { result: 'referrer-policy-not-implemented', pass: false };
  const httpHeaders = headerValues(response, 'referrer-policy');
  const metaReferrer = isHtml(firstHeader(response, 'content-type') ?? undefined) ? metaPolicies(response.body).referrer : undefined;
  const equivHeaders = metaReferrer === undefined ? [] : [metaReferrer];
  if (httpHeaders.length === 0 && equivHeaders.length === 0) return { result: 'referrer-policy-not-implemented', pass: true };
  const data = [...httpHeaders, ...equivHeaders].join(', ');
  const policy =
    data
      .split(',')
      .filter((entry) => valid.includes(entry.toLowerCase().trim()))
      .reverse()[0]
      ?.toLowerCase()
      .trim() ?? '';
  const result = goodness.includes(policy) ? 'referrer-policy-private' : badness.includes(policy) ? 'referrer-policy-unsafe' : 'referrer-policy-header-invalid';
  return { result, pass: result === 'referrer-policy-private' };
}

/** A registrable domain without the public-suffix list: the last two labels (three under a two-letter ccTLD's second level). */
export function registrableDomain(hostname: string): string | null {
  const host = hostname.replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
  if (/^[\d.]+$/.test(host) || host.includes(':')) return null;
  const labels = host.split('.').filter((label) => label !== '');
  if (labels.length < 2) return null;
  const secondLevel = labels.at(-2) ?? '';
  const take = (labels.at(-1)?.length ?? 0) === 2 && ['co', 'com', 'org', 'net', 'ac', 'gov', 'edu'].includes(secondLevel) ? 3 : 2;
  return labels.slice(-take).join('.');
}

function hostOf(source: string): string {
  try {
    return new URL(source).hostname;
  } catch {
    return '';
  }
}

/** analyzer/tests/subresource-integrity.js. */
export function sriTest(input: ObservatoryInput): TestOutput {
  const goodness = [
    'sri-implemented-and-all-scripts-loaded-securely',
    'sri-implemented-and-external-scripts-loaded-securely',
    'sri-implemented-but-external-scripts-not-loaded-securely',
    'sri-not-implemented-but-external-scripts-loaded-securely',
    'sri-not-implemented-and-external-scripts-not-loaded-securely',
    'sri-not-implemented-response-not-html',
  ];
  const response = input.auto;
  if (response === null) return { result: 'sri-not-implemented-but-no-scripts-loaded', pass: false };
  let result: string | null = null;
  if (!isHtml(firstHeader(response, 'content-type') ?? undefined)) {
    result = 'sri-not-implemented-response-not-html';
  } else {
    const { scripts, scriptElements } = externalScripts(response.body);
    let scriptsOnForeignOrigin = false;
    const ownDomain = registrableDomain(input.hostname);
    for (const script of scripts) {
      const relativeProtocol = /^(\/\/)[^/]/.test(script.src);
      const fullUrl = /^https?:\/\//.test(script.src);
      const relativeOrigin = !relativeProtocol && !fullUrl;
      const sameSecondLevelDomain = relativeProtocol || relativeOrigin || registrableDomain(hostOf(script.src)) === ownDomain;
      const secureOrigin = relativeOrigin || (sameSecondLevelDomain && !relativeProtocol);
      if (!secureOrigin) scriptsOnForeignOrigin = true;
      let scheme: string | null = null;
      if (!relativeProtocol && !relativeOrigin) {
        try {
          scheme = new URL(script.src).protocol;
        } catch {
          scheme = null;
        }
      }
      const secureScheme = scheme === 'https:' || (relativeOrigin && input.autoSessionUrl?.protocol === 'https:');
      const integrity = script.integrity !== undefined && script.integrity !== '';
      if (!secureOrigin) {
        if (integrity && !secureScheme) result = onlyIfWorse('sri-implemented-but-external-scripts-not-loaded-securely', result, goodness);
        else if (!integrity && secureScheme) result = onlyIfWorse('sri-not-implemented-but-external-scripts-loaded-securely', result, goodness);
        else if (!integrity && !secureScheme) result = onlyIfWorse('sri-not-implemented-and-external-scripts-not-loaded-securely', result, goodness);
      } else if (integrity && secureScheme && result === null) {
        result = 'sri-implemented-and-all-scripts-loaded-securely';
      }
    }
    if (scriptElements === 0) result = 'sri-not-implemented-but-no-scripts-loaded';
    else result ??= scriptsOnForeignOrigin ? 'sri-implemented-and-external-scripts-loaded-securely' : 'sri-not-implemented-but-all-scripts-loaded-from-secure-origin';
  }
  return {
    result,
    pass: [
      'sri-implemented-and-all-scripts-loaded-securely',
      'sri-implemented-and-external-scripts-loaded-securely',
      'sri-not-implemented-response-not-html',
      'sri-not-implemented-but-all-scripts-loaded-from-secure-origin',
      'sri-not-implemented-but-no-scripts-loaded',
    ].includes(result),
  };
}

/** analyzer/tests/x-content-type-options.js. */
export function xContentTypeOptionsTest(input: ObservatoryInput): TestOutput {
  if (input.auto === null) return { result: 'x-content-type-options-not-implemented', pass: false };
  const header = firstHeader(input.auto, 'x-content-type-options');
  const result = header === null ? 'x-content-type-options-not-implemented' : header.slice(0, 256).trim().toLowerCase() === 'nosniff' ? 'x-content-type-options-nosniff' : 'x-content-type-options-header-invalid';
  return { result, pass: result === 'x-content-type-options-nosniff' };
}

/** analyzer/tests/x-frame-options.js. */
export function xFrameOptionsTest(input: ObservatoryInput): TestOutput {
  if (input.auto === null) return { result: 'x-frame-options-not-implemented', pass: false };
  const header = firstHeader(input.auto, 'x-frame-options');
  let result = 'x-frame-options-not-implemented';
  if (header !== null) {
    const xfo = header.slice(0, 1024).trim().toLowerCase();
    result = xfo === 'deny' || xfo === 'sameorigin' ? 'x-frame-options-sameorigin-or-deny' : xfo.startsWith('allow-from') ? 'x-frame-options-allow-from-origin' : 'x-frame-options-header-invalid';
  }
  if (cspTest(input).policy?.has('frame-ancestors') === true) result = 'x-frame-options-implemented-via-csp';
  return { result, pass: ['x-frame-options-allow-from-origin', 'x-frame-options-sameorigin-or-deny', 'x-frame-options-implemented-via-csp'].includes(result) };
}

/** analyzer/tests/cross-origin-resource-policy.js. */
export function corpTest(input: ObservatoryInput): TestOutput {
  let result = 'corp-not-implemented';
  if (input.auto !== null) {
    const header = firstHeader(input.auto, 'cross-origin-resource-policy');
    if (header !== null && header !== '') {
      const corp = header.slice(0, 256).trim().toLowerCase();
      result = corp === 'same-site' ? 'corp-implemented-with-same-site' : corp === 'same-origin' ? 'corp-implemented-with-same-origin' : corp === 'cross-origin' ? 'corp-implemented-with-cross-origin' : 'corp-header-invalid';
    }
  }
  return { result, pass: result !== 'corp-header-invalid' };
}

/** The tests in the scanner's order (src/constants.js ALL_TESTS), under their result names. */
const allTests: readonly (readonly [string, (input: ObservatoryInput) => TestOutput])[] = [
  ['content-security-policy', cspTest],
  ['cookies', cookiesTest],
  ['cross-origin-resource-sharing', corsTest],
  ['redirection', redirectionTest],
  ['referrer-policy', referrerPolicyTest],
  ['strict-transport-security', hstsTest],
  ['subresource-integrity', sriTest],
  ['x-content-type-options', xContentTypeOptionsTest],
  ['x-frame-options', xFrameOptionsTest],
  ['cross-origin-resource-policy', corpTest],
];

/** scanner/index.js scan(): the tests, the sum, the curve and the grade. */
export function scoreObservatory(input: ObservatoryInput): ObservatorySummary {
  if (input.auto === null) return { algorithmVersion: observatoryAlgorithmVersion, error: 'The site seems to be down.', tests: [] };
  const status = input.auto.status;
  if (status < 200 || (status >= 400 && status !== 401 && status !== 403)) {
    return { algorithmVersion: observatoryAlgorithmVersion, error: `Site did respond with an unexpected HTTP status code ${status}.`, tests: [] };
  }
  const tests: ObservatoryTestResult[] = allTests.map(([name, test]) => {
    const output = test(input);
    return { name, result: output.result, pass: output.pass, modifier: observatoryModifiers.get(output.result) ?? 0 };
  });
  let withExtraCredit = 100;
  let uncurved = 100;
  for (const test of tests) {
    withExtraCredit += test.modifier;
    if (test.modifier < 0) uncurved += test.modifier;
  }
  const { score, grade } = gradeForScore(uncurved >= minimumScoreForExtraCredit ? withExtraCredit : uncurved);
  return { algorithmVersion: observatoryAlgorithmVersion, score, grade, tests };
}

/** The score as a finding: a summary of the header findings, graded the way the Observatory grades. */
export const observatoryCheck = { practice: 4, id: 'observatory-score', title: 'MDN HTTP Observatory grade A+ (score 100 or more)', severity: 'low' } as const;

export function observatoryFinding(summary: ObservatorySummary): Finding {
  if (summary.error !== undefined || summary.score === undefined || summary.grade === undefined) {
    return notChecked(observatoryCheck, `the Observatory would not grade this answer: ${summary.error ?? 'no score'}`);
  }
  const moved = summary.tests.filter((test) => test.modifier !== 0).map((test) => `${test.name} ${test.modifier > 0 ? '+' : ''}${test.modifier} (${test.result})`);
  const evidence = `${summary.score} points, grade ${summary.grade}${moved.length === 0 ? '' : `: ${moved.join(', ')}`}`;
  if (summary.score >= 100) return pass(observatoryCheck, evidence);
  return warn(observatoryCheck, evidence, 'fix the header and cookie findings above; each penalty listed here names the Observatory test it comes from');
}
