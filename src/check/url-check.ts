// src/check/url-check.ts
// `portcullis check <url>`: the first look at the site (retrieve.ts), then every check group in
// parallel against it, the rate-limit burst last (so no other probe is answered with a 429), the
// cookies of everything that answered, and the MDN Observatory score of the first look.

import type { ProbeAnswer, UrlCheckContext, UrlCheckGroup, UrlCheckOptions } from './context.js';
import { cookiesGroup } from './cookies.js';
import { errorsGroup } from './errors.js';
import { exposureGroup } from './exposure.js';
import { notChecked, type CheckDefinition, type Finding } from './finding.js';
import { headersGroup } from './headers.js';
import { httpsGroup } from './https.js';
import { inputGroup } from './input.js';
import { RequestFailed, send, type Exchange } from './net.js';
import { observatoryFinding, scoreObservatory, type ObservatoryInput } from './observatory-score.js';
import { silentProgress, type Progress } from './progress.js';
import { rateLimitGroup } from './rate-limit.js';
import { sortFindings, toolVersion, type Report } from './report.js';
import { retrieve, type Retrieval } from './retrieve.js';
import { CheckCannotRun, resolveTarget, type TargetOptions } from './target.js';

export type UrlCheckRunOptions = UrlCheckOptions & TargetOptions & { readonly progress?: Progress };

/** Practices a URL cannot show; each is reported as not checked, with where to look instead. */
const unobservable: readonly (readonly [CheckDefinition, string, string])[] = [
  [
    { practice: 1, id: 'run-without-root', title: 'The server runs without root privileges', severity: 'info' },
    'which user a server process runs as cannot be seen over HTTP',
    'run portcullis check --project <folder> to read the Dockerfile USER and systemd User=',
  ],
  [
    { practice: 2, id: 'dependencies-current', title: 'Dependencies and the runtime are up to date', severity: 'info' },
    'dependency versions cannot be seen over HTTP (a version in the Server header is reported under server-version)',
    'run portcullis check --project <folder> --online for the lockfile, npm audit and the Node.js version',
  ],
  [
    { practice: 6, id: 'authentication', title: 'Strong authentication (password rules, MFA, lockout)', severity: 'info' },
    'sign-in rules need an account to test and are not probed',
    'review them against NIST SP 800-63B and OWASP ASVS 5.0 chapter 6: at least 15 characters without MFA, a breached-password blocklist, MFA offered and required for administrators',
  ],
  [
    { practice: 8, id: 'monitoring', title: 'The application is monitored', severity: 'info' },
    'whether anyone watches the logs and metrics cannot be seen from outside; only that monitoring endpoints are private (exposed-metrics, exposed-server-status)',
    '',
  ],
  [
    { practice: 11, id: 'security-linter', title: 'A security linter runs on the code', severity: 'info' },
    'the code is not visible over HTTP',
    'run portcullis check --project <folder> to find ESLint with eslint-plugin-security',
  ],
];

export const urlCheckLimits: readonly string[] = [
  'Only the page given and a fixed list of paths are requested; pages behind a sign-in are not reached, and their cookies are not seen.',
  'HTML is read as text (script and meta tags), without running scripts.',
  'The Observatory score is computed here from the same answers the other checks read, with the scanner\'s algorithm (v4); there is no HSTS preload list and no public-suffix list, and the public Observatory only scans ports 80 and 443.',
  'Rate limiting is only probed with --probe-rate-limit, against this machine or with --i-own-this-site.',
];

function observatoryInput(scanName: string, retrieval: Retrieval): ObservatoryInput {
  const asObserved = (response: Exchange, verified: boolean) => ({ url: response.url, status: response.status, headers: response.headers, body: response.body, verified });
  const { auto, http, https } = retrieval;
  return {
    hostname: scanName,
    auto: auto?.response === null || auto === null ? null : asObserved(auto.response, auto.verified),
    autoSessionUrl: auto?.start ?? null,
    http: http.response === null ? null : { response: asObserved(http.response, http.verified), route: http.route },
    https: https.response === null ? null : asObserved(https.response, https.verified),
    cookies: retrieval.observatoryCookies.all(),
    cors: retrieval.cors === null ? null : { headers: retrieval.cors.headers },
  };
}

async function timed<T>(progress: Progress, step: string, work: () => Promise<T>): Promise<T> {
  progress.start(step);
  try {
    return await work();
  } finally {
    progress.done(step);
  }
}

export async function runUrlCheck(rawUrl: string, options: UrlCheckRunOptions): Promise<Report> {
  const startedAt = new Date();
  const progress = options.progress ?? silentProgress;
  const target = await resolveTarget(rawUrl, options);
  const retrieval = await timed(progress, 'first look', () => retrieve(target, { extraCa: options.extraCa, timeoutMs: options.timeoutMs }));
  const auto = retrieval.auto;
  const base = auto?.response;
  if (auto === null || base === undefined || base === null) {
    const why = (session: Retrieval['http']) => `${session.start.href}: ${session.error?.code ?? 'error'} ${session.error?.message ?? 'no answer'}`;
    throw new CheckCannotRun(`could not reach the site: ${why(retrieval.https)}; ${why(retrieval.http)}`);
  }
  const baseUrl = new URL(base.url);

  const answers: { url: URL; exchange: Exchange }[] = [];
  for (const session of [retrieval.https, retrieval.http]) {
    for (const exchange of session.exchanges) answers.push({ url: new URL(exchange.url), exchange });
  }
  for (const exchange of [retrieval.robots, retrieval.cors]) if (exchange !== null) answers.push({ url: new URL(exchange.url), exchange });

  const context: UrlCheckContext = {
    target,
    retrieval,
    auto,
    base,
    baseUrl,
    options,
    progress,
    answers: () => answers,
    async probe(spec): Promise<ProbeAnswer> {
      const { path, ...request } = spec;
      const url = /^https?:\/\//i.test(path) ? new URL(path) : new URL(path, baseUrl.origin);
      const method = request.method ?? 'GET';
      const sent = { method, url: url.href, target: request.rawPath ?? `${url.pathname}${url.search}` };
      if (url.origin !== baseUrl.origin) {
        return { request: sent, exchange: undefined, failure: new RequestFailed(`not probed: ${url.origin} is not the site's origin`, 'EFOREIGN') };
      }
      try {
        const exchange = await send({ ...request, url, timeoutMs: options.timeoutMs, extraCa: options.extraCa });
        answers.push({ url, exchange });
        return { request: sent, exchange, failure: undefined };
      } catch (error) {
        const failure = error instanceof RequestFailed ? error : new RequestFailed(error instanceof Error ? error.message : String(error), undefined);
        return { request: sent, exchange: undefined, failure };
      }
    },
  };

  // A check that breaks on some odd answer must not take the whole report down with it.
  const run = (group: UrlCheckGroup) =>
    timed(progress, group.name, async () => {
      try {
        return await group.run(context);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return [
          notChecked(
            { practice: group.practice, id: `check-error-${group.name.replace(/[^a-z0-9]+/g, '-')}`, title: `The ${group.name} checks ran`, severity: 'info' },
            `the ${group.name} checks stopped on an internal error: ${message.slice(0, 200)}`,
            'please report this with the site\'s answer that caused it',
          ),
        ];
      }
    });
  const parallel = await Promise.all([httpsGroup, headersGroup, errorsGroup, exposureGroup, inputGroup].map(run));
  const rateLimit = await run(rateLimitGroup);
  const cookies = await run(cookiesGroup);
  const observatory = scoreObservatory(observatoryInput(target.scanName, retrieval));
  progress.stop();

  const findings: Finding[] = [...parallel.flat(), ...rateLimit, ...cookies, observatoryFinding(observatory)];
  for (const [definition, reason, fix] of unobservable) findings.push(notChecked(definition, reason, fix));

  return {
    tool: { name: 'portcullis check', version: toolVersion() },
    target: { kind: 'url', value: target.url.href },
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    findings: sortFindings(findings),
    observatory,
    limits: urlCheckLimits,
  };
}
