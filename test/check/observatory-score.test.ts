// test/check/observatory-score.test.ts
// The MDN HTTP Observatory score as `portcullis check` computes it: the scanner's own tables
// (mdn/mdn-http-observatory v1.4.8: src/grader/charts.js, src/analyzer/tests/*.js) case by case,
// and, when the real scanner is installed in .tools/observatory, the same score and the same result
// for every test as the scanner on the same fixture servers.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  cookiesTest,
  corpTest,
  corsTest,
  cspTest,
  gradeForScore,
  hstsTest,
  redirectionTest,
  referrerPolicyTest,
  scoreObservatory,
  sriTest,
  xContentTypeOptionsTest,
  xFrameOptionsTest,
  type ObservatoryInput,
} from '../../src/check/observatory-score.js';
import type { ObservatorySummary } from '../../src/check/report.js';
import { CookieJar } from '../../src/check/set-cookie.js';
import { runUrlCheck } from '../../src/check/url-check.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { startDefaultExpressApp, startHalfHardenedApp, type FixtureServer } from '../fixtures/check/servers.js';

/** The headers Portcullis sends (the Observatory's best case). */
const strictHeaders: IncomingHttpHeaders = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

interface Site {
  readonly headers?: IncomingHttpHeaders;
  readonly body?: string;
  readonly verified?: boolean;
  readonly https?: boolean;
  readonly httpRoute?: readonly string[] | null;
  readonly httpVerified?: boolean;
  readonly setCookies?: readonly string[];
  readonly cors?: IncomingHttpHeaders;
}

/** What the retriever would have collected from a site answering like this. */
function site({ headers = strictHeaders, body = '<!doctype html><title>x</title>', verified = true, https = true, httpRoute = null, httpVerified = true, setCookies = [], cors }: Site = {}): ObservatoryInput {
  const url = https ? 'https://example.com/' : 'http://example.com/';
  const response = { url, status: 200, headers: { ...headers, ...(setCookies.length === 0 ? {} : { 'set-cookie': [...setCookies] }) }, body, verified };
  const jar = new CookieJar();
  for (const cookie of setCookies) jar.store(cookie, new URL(url));
  return {
    hostname: 'example.com',
    auto: response,
    autoSessionUrl: new URL(url),
    http: httpRoute === null ? null : { response: { ...response, verified: httpVerified }, route: httpRoute.map((entry, index) => ({ url: entry, status: index < httpRoute.length - 1 ? 301 : 200 })) },
    https: https ? response : null,
    cookies: jar.all(),
    cors: cors === undefined ? null : { headers: cors },
  };
}

const withHeaders = (changes: Record<string, string | undefined>, rest: Site = {}) => {
  const headers: IncomingHttpHeaders = { ...strictHeaders };
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) Reflect.deleteProperty(headers, name);
    else Object.assign(headers, { [name]: value });
  }
  return site({ ...rest, headers });
};

describe('Observatory grades (grader.js, charts.js GRADE_CHART)', () => {
  it('maps scores to grades by multiples of five, with 100 and above A+', () => {
    const cases: readonly [number, string][] = [
      [135, 'A+'],
      [100, 'A+'],
      [99, 'A'],
      [90, 'A'],
      [89, 'A-'],
      [80, 'B+'],
      [70, 'B'],
      [65, 'B-'],
      [45, 'C-'],
      [25, 'D-'],
      [20, 'F'],
      [0, 'F'],
    ];
    for (const [score, grade] of cases) assert.equal(gradeForScore(score).grade, grade, String(score));
  });

  it('never goes below zero', () => {
    assert.deepEqual(gradeForScore(-45), { score: 0, grade: 'F' });
  });
});

describe('Observatory sum (scanner/index.js)', () => {
  it('gives the best-built site 130: 100 plus CSP +10, Referrer +5, frame-ancestors +5, CORP +10', () => {
    const summary = scoreObservatory(site({ httpRoute: ['http://example.com/', 'https://example.com/'] }));
    assert.equal(summary.score, 130);
    assert.equal(summary.grade, 'A+');
  });

  it('keeps the bonuses while the penalties alone leave 90 or more', () => {
    // Without nosniff: -5, so 95 before bonuses; the 30 bonus points still count.
    assert.equal(scoreObservatory(withHeaders({ 'x-content-type-options': undefined })).score, 125);
  });

  it('drops every bonus once the penalties alone go below 90', () => {
    // No HSTS: -20 leaves 80, and the bonuses no longer count.
    const summary = scoreObservatory(withHeaders({ 'strict-transport-security': undefined }));
    assert.equal(summary.score, 80);
    assert.equal(summary.grade, 'B+');
  });

  it('refuses to grade an answer the scanner refuses (4xx other than 401/403, 5xx)', () => {
    const input = site();
    assert.ok(input.auto);
    const summary = scoreObservatory({ ...input, auto: { ...input.auto, status: 500 } });
    assert.equal(summary.score, undefined);
    assert.match(summary.error ?? '', /unexpected HTTP status code 500/);
  });
});

describe('Observatory CSP test (analyzer/tests/csp.js)', () => {
  const result = (policy: string | undefined, rest: Site = {}) => cspTest(withHeaders({ 'content-security-policy': policy }, rest)).result;

  it("rewards default-src 'none' without unsafe sources (+10) and a plain safe policy (+5)", () => {
    assert.equal(result("default-src 'none'; script-src 'self'"), 'csp-implemented-with-no-unsafe-default-src-none');
    assert.equal(result("default-src 'self'"), 'csp-implemented-with-no-unsafe');
  });

  it("penalises 'unsafe-inline' or data: scripts, and a missing script-src and default-src (-20)", () => {
    assert.equal(result("default-src 'self'; script-src 'self' 'unsafe-inline'"), 'csp-implemented-with-unsafe-inline');
    assert.equal(result("default-src 'self'; script-src data:"), 'csp-implemented-with-unsafe-inline');
    assert.equal(result("img-src 'self'"), 'csp-implemented-with-unsafe-inline');
    assert.equal(result("default-src 'self'; object-src *"), 'csp-implemented-with-unsafe-inline');
  });

  it("lets a nonce or hash cancel 'unsafe-inline', as browsers do", () => {
    assert.equal(result("default-src 'none'; script-src 'nonce-abc' 'unsafe-inline'"), 'csp-implemented-with-no-unsafe-default-src-none');
  });

  it("counts 'unsafe-eval' (-10), http: sources on an HTTPS site (-20, images only -10), unsafe styles only (0)", () => {
    assert.equal(result("default-src 'self'; script-src 'self' 'unsafe-eval'"), 'csp-implemented-with-unsafe-eval');
    assert.equal(result("default-src 'self'; connect-src http://api.example.com"), 'csp-implemented-with-insecure-scheme');
    assert.equal(result("default-src 'self'; img-src http://cdn.example.com"), 'csp-implemented-with-insecure-scheme-in-passive-content-only');
    assert.equal(result("default-src 'self'; style-src 'self' 'unsafe-inline'"), 'csp-implemented-with-unsafe-inline-in-style-src-only');
  });

  it("treats a repeated directive and 'strict-dynamic' without a nonce as invalid (-25)", () => {
    assert.equal(result("default-src 'self'; default-src 'none'"), 'csp-header-invalid');
    assert.equal(result("default-src 'self'; script-src 'strict-dynamic'"), 'csp-header-invalid');
  });

  it('tells a missing policy from a report-only one (both -25)', () => {
    assert.equal(result(undefined), 'csp-not-implemented');
    assert.equal(cspTest(withHeaders({ 'content-security-policy': undefined, 'content-security-policy-report-only': "default-src 'none'" })).result, 'csp-not-implemented-but-reporting-enabled');
  });

  it('reads a policy from <meta http-equiv>, but not its frame-ancestors', () => {
    const meta = site({ headers: { 'content-type': 'text/html' }, body: `<html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; frame-ancestors 'none'"></head></html>` });
    assert.equal(cspTest(meta).result, 'csp-implemented-with-no-unsafe-default-src-none');
    assert.equal(cspTest(meta).flags.antiClickjacking, false);
  });

  it('marks a duplicated report-uri as a duplicate (0) but still passing', () => {
    const analysis = cspTest(withHeaders({ 'content-security-policy': "default-src 'none'; report-uri /a; report-uri /b" }));
    assert.equal(analysis.result, 'csp-implemented-but-duplicate-directives');
    assert.equal(analysis.pass, true);
  });
});

describe('Observatory cookie test (analyzer/tests/cookies.js)', () => {
  const result = (setCookies: readonly string[], rest: Site = {}) => cookiesTest(site({ ...rest, setCookies })).result;

  it('rewards Secure, HttpOnly sessions and SameSite (+5), and is neutral without cookies', () => {
    assert.equal(result(['__Host-sid=1; Path=/; Secure; HttpOnly; SameSite=Lax']), 'cookies-secure-with-httponly-sessions-and-samesite');
    assert.equal(result([]), 'cookies-not-found');
  });

  it('penalises a session cookie without Secure (-40), softened by working HSTS (-10)', () => {
    assert.equal(result(['sessionid=1; Path=/; HttpOnly'], { https: false }), 'cookies-session-without-secure-flag');
    assert.equal(result(['sessionid=1; Path=/; HttpOnly']), 'cookies-session-without-secure-flag-but-protected-by-hsts');
  });

  it('penalises a session cookie without HttpOnly (-30), and decides "session" by the name only', () => {
    assert.equal(result(['login_token=1; Path=/; Secure; SameSite=Lax']), 'cookies-session-without-httponly-flag');
    // connect.sid contains neither "sess" nor "login": to the scanner it is an ordinary cookie.
    assert.equal(result(['connect.sid=1; Path=/'], { https: false }), 'cookies-without-secure-flag');
  });

  it('penalises an invalid SameSite (-20) and an anti-CSRF cookie without SameSite (-20)', () => {
    assert.equal(result(['a=1; Path=/; Secure; SameSite=Bogus']), 'cookies-samesite-flag-invalid');
    assert.equal(result(['csrftoken=1; Path=/; Secure']), 'cookies-anticsrf-without-samesite-flag');
  });

  it('drops a __Host- cookie that breaks the prefix rules, as tough-cookie does', () => {
    assert.equal(result(['__Host-sid=1; Path=/app; Secure; HttpOnly']), 'cookies-not-found');
  });
});

describe('Observatory transport tests (redirection.js, strict-transport-security.js)', () => {
  it('judges the redirect chain of the plain-HTTP site', () => {
    const route = (urls: readonly string[], verified = true) => redirectionTest(site({ httpRoute: urls, httpVerified: verified })).result;
    assert.equal(route(['http://example.com/', 'https://example.com/']), 'redirection-to-https');
    assert.equal(route(['http://example.com/', 'https://www.example.com/']), 'redirection-off-host-from-http');
    assert.equal(route(['http://example.com/', 'http://www.example.com/', 'https://www.example.com/']), 'redirection-not-to-https-on-initial-redirection');
    assert.equal(route(['http://example.com/', 'http://www.example.com/']), 'redirection-not-to-https');
    assert.equal(route(['http://example.com/']), 'redirection-missing');
    assert.equal(route(['http://example.com/', 'https://example.com/'], false), 'redirection-invalid-cert');
    assert.equal(redirectionTest(site()).result, 'redirection-not-needed-no-http');
  });

  it('reads HSTS only from a verified HTTPS answer', () => {
    const result = (value: string | undefined, rest: Site = {}) => hstsTest(withHeaders({ 'strict-transport-security': value }, rest)).result;
    assert.equal(result('max-age=15552000'), 'hsts-implemented-max-age-at-least-six-months');
    assert.equal(result('max-age=86400; includeSubDomains'), 'hsts-implemented-max-age-less-than-six-months');
    assert.equal(result('includeSubDomains'), 'hsts-header-invalid');
    assert.equal(result('max-age=31536000, max-age=31536000'), 'hsts-header-invalid');
    assert.equal(result(undefined), 'hsts-not-implemented');
    assert.equal(result('max-age=31536000', { verified: false }), 'hsts-invalid-cert');
    assert.equal(result('max-age=31536000', { https: false }), 'hsts-not-implemented-no-https');
  });
});

describe('Observatory header tests (referrer-policy, x-frame-options, x-content-type-options, corp, cors, sri)', () => {
  it('Referrer-Policy: the last valid policy counts', () => {
    const result = (value: string | undefined) => referrerPolicyTest(withHeaders({ 'referrer-policy': value })).result;
    assert.equal(result('no-referrer'), 'referrer-policy-private');
    assert.equal(result('unsafe-url, strict-origin-when-cross-origin'), 'referrer-policy-private');
    assert.equal(result('unsafe-url'), 'referrer-policy-unsafe');
    assert.equal(result('nonsense'), 'referrer-policy-header-invalid');
    assert.equal(result(undefined), 'referrer-policy-not-implemented');
  });

  it('X-Frame-Options: CSP frame-ancestors wins (+5), DENY is neutral, nothing is -20', () => {
    assert.equal(xFrameOptionsTest(site()).result, 'x-frame-options-implemented-via-csp');
    assert.equal(xFrameOptionsTest(withHeaders({ 'content-security-policy': "default-src 'self'" })).result, 'x-frame-options-sameorigin-or-deny');
    assert.equal(xFrameOptionsTest(withHeaders({ 'content-security-policy': undefined, 'x-frame-options': 'ALLOW-FROM https://a.example' })).result, 'x-frame-options-allow-from-origin');
    assert.equal(xFrameOptionsTest(withHeaders({ 'content-security-policy': undefined, 'x-frame-options': 'yes please' })).result, 'x-frame-options-header-invalid');
    assert.equal(xFrameOptionsTest(withHeaders({ 'content-security-policy': undefined, 'x-frame-options': undefined })).result, 'x-frame-options-not-implemented');
  });

  it('X-Content-Type-Options and Cross-Origin-Resource-Policy', () => {
    assert.equal(xContentTypeOptionsTest(withHeaders({ 'x-content-type-options': 'NoSniff' })).result, 'x-content-type-options-nosniff');
    assert.equal(xContentTypeOptionsTest(withHeaders({ 'x-content-type-options': 'sniff' })).result, 'x-content-type-options-header-invalid');
    assert.equal(corpTest(withHeaders({ 'cross-origin-resource-policy': 'same-site' })).result, 'corp-implemented-with-same-site');
    assert.equal(corpTest(withHeaders({ 'cross-origin-resource-policy': 'sideways' })).result, 'corp-header-invalid');
    assert.equal(corpTest(withHeaders({ 'cross-origin-resource-policy': undefined })).result, 'corp-not-implemented');
  });

  it('CORS: public and restricted access are neutral (the scanner never detects reflected credentials)', () => {
    assert.equal(corsTest(site({ cors: { 'access-control-allow-origin': '*' } })).result, 'cross-origin-resource-sharing-implemented-with-public-access');
    assert.equal(
      corsTest(site({ cors: { 'access-control-allow-origin': 'https://http-observatory.security.mozilla.org', 'access-control-allow-credentials': 'true' } })).result,
      'cross-origin-resource-sharing-implemented-with-restricted-access',
    );
    assert.equal(corsTest(site()).result, 'cross-origin-resource-sharing-not-implemented');
  });

  it('Subresource Integrity: by where scripts come from and whether they carry integrity', () => {
    const result = (body: string) => sriTest(site({ body })).result;
    assert.equal(result('<p>no scripts</p>'), 'sri-not-implemented-but-no-scripts-loaded');
    assert.equal(result('<script src="/app.js"></script>'), 'sri-not-implemented-but-all-scripts-loaded-from-secure-origin');
    assert.equal(result('<script src="/app.js" integrity="sha384-abc"></script>'), 'sri-implemented-and-all-scripts-loaded-securely');
    assert.equal(result('<script src="https://cdn.other.org/x.js" integrity="sha384-abc"></script>'), 'sri-implemented-and-external-scripts-loaded-securely');
    assert.equal(result('<script src="https://cdn.other.org/x.js"></script>'), 'sri-not-implemented-but-external-scripts-loaded-securely');
    assert.equal(result('<script src="http://cdn.other.org/x.js"></script>'), 'sri-not-implemented-and-external-scripts-not-loaded-securely');
    assert.equal(result('<script src="//cdn.other.org/x.js" integrity="sha384-abc"></script>'), 'sri-implemented-but-external-scripts-not-loaded-securely');
    assert.equal(result('<!-- <script src="http://cdn.other.org/x.js"></script> -->'), 'sri-not-implemented-but-no-scripts-loaded');
    assert.equal(sriTest(withHeaders({ 'content-type': 'application/json' })).result, 'sri-not-implemented-response-not-html');
  });
});

// The real scanner, when another engineer's install is present (see docs/check.md).
const scannerScript = fileURLToPath(new URL('../../../.tools/observatory/node_modules/@mdn/mdn-http-observatory/src/scan.js', import.meta.url));
const scannerPresent = existsSync(scannerScript);

interface ScannerOutput {
  readonly scan?: { readonly score: number; readonly grade: string };
  readonly tests?: Readonly<Record<string, { readonly result: string }>>;
  readonly error?: string;
}

function runScanner(hostAndPort: string, caFile: string | undefined): Promise<ScannerOutput> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (caFile === undefined) delete env.NODE_EXTRA_CA_CERTS;
    else env.NODE_EXTRA_CA_CERTS = caFile;
    execFile(process.execPath, [scannerScript, hostAndPort], { env, timeout: 60_000, encoding: 'utf8' }, (_error, stdout) => {
      try {
        resolve(JSON.parse(stdout) as ScannerOutput);
      } catch {
        reject(new Error(`the scanner printed no JSON: ${stdout.slice(0, 300)}`));
      }
    });
  });
}

function assertAgree(ours: ObservatorySummary | undefined, theirs: ScannerOutput): void {
  assert.ok(ours);
  assert.equal(theirs.error, undefined, theirs.error);
  const expected = Object.fromEntries(Object.entries(theirs.tests ?? {}).map(([name, test]) => [name, test.result]));
  const actual = Object.fromEntries(ours.tests.map((test) => [test.name, test.result]));
  assert.deepEqual(actual, expected);
  assert.equal(ours.score, theirs.scan?.score);
  assert.equal(ours.grade, theirs.scan?.grade);
}

describe('agreement with the real MDN HTTP Observatory scanner', { skip: scannerPresent ? false : 'the scanner is not installed in .tools/observatory' }, () => {
  let folder: string;
  let plain: FixtureServer;
  let halfHardened: FixtureServer;
  let portcullis: TestServer;
  before(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'portcullis-observatory-'));
    [plain, halfHardened, portcullis] = await Promise.all([startDefaultExpressApp(), startHalfHardenedApp(), startTestServer()]);
  });
  after(async () => {
    await Promise.all([plain.close(), halfHardened.close(), portcullis.close()]);
    await rm(folder, { recursive: true, force: true });
  });

  const options = { timeoutMs: 10_000, probeRateLimit: false, iOwnThisSite: false };

  it('agrees on the default Express app (plain HTTP)', async () => {
    const [ours, theirs] = await Promise.all([runUrlCheck(plain.url, { ...options, extraCa: [] }), runScanner(`127.0.0.1:${plain.port}`, undefined)]);
    assertAgree(ours.observatory, theirs);
  });

  it('agrees on the half-hardened app, with its certificate trusted', async () => {
    const caFile = path.join(folder, 'half-hardened.pem');
    await writeFile(caFile, halfHardened.ca);
    const [ours, theirs] = await Promise.all([runUrlCheck(halfHardened.url, { ...options, extraCa: [halfHardened.ca] }), runScanner(`127.0.0.1:${halfHardened.port}`, caFile)]);
    assertAgree(ours.observatory, theirs);
  });

  it('agrees on the half-hardened app when its certificate is not trusted', async () => {
    const [ours, theirs] = await Promise.all([runUrlCheck(halfHardened.url, { ...options, extraCa: [] }), runScanner(`127.0.0.1:${halfHardened.port}`, undefined)]);
    assertAgree(ours.observatory, theirs);
  });

  it('agrees on Portcullis: A+', async () => {
    const caFile = path.join(folder, 'portcullis.pem');
    await writeFile(caFile, portcullis.ca);
    const [ours, theirs] = await Promise.all([runUrlCheck(portcullis.url, { ...options, extraCa: [portcullis.ca] }), runScanner(`127.0.0.1:${portcullis.port}`, caFile)]);
    assertAgree(ours.observatory, theirs);
    assert.equal(theirs.scan?.grade, 'A+');
  });
});
