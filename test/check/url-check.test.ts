// test/check/url-check.test.ts
// `portcullis check <url>` against servers with known faults: it must report every planted fault,
// nothing else (the exact set of failing and warning ids), and give Portcullis itself full marks on
// everything it can see from outside.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Finding } from '../../src/check/finding.js';
import type { Report } from '../../src/check/report.js';
import { runUrlCheck, type UrlCheckRunOptions } from '../../src/check/url-check.js';
import { freePort } from '../helpers/pebble.js';
import { flagged } from './report-helpers.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { startDefaultExpressApp, startHalfHardenedApp, type FixtureServer } from '../fixtures/check/servers.js';

const baseOptions: UrlCheckRunOptions = { extraCa: [], timeoutMs: 10_000, probeRateLimit: false, iOwnThisSite: false };

function finding(report: Report, id: string): Finding {
  const found = report.findings.find((candidate) => candidate.id === id);
  assert.ok(found, `no finding ${id}`);
  return found;
}

describe('check of a default Express app (plain HTTP, express-session defaults, no helmet)', () => {
  let server: FixtureServer;
  let report: Report;
  before(async () => {
    server = await startDefaultExpressApp();
    report = await runUrlCheck(server.url, baseOptions);
  });
  after(async () => {
    await server.close();
  });

  it('reports every planted fault and nothing else', () => {
    assert.deepEqual(
      flagged(report),
      [
        // express-session's default cookie: connect.sid, without Secure or SameSite.
        'cookie-host-prefix',
        'cookie-name-reveals-stack',
        'cookie-samesite',
        'cookie-secure',
        // No helmet: none of the headers.
        'cross-origin-opener-policy',
        'cross-origin-resource-policy',
        'csp',
        // Stack traces and Express's own error pages.
        'error-framework-disclosure',
        'error-stack-trace',
        'frame-protection',
        // Plain HTTP only.
        'hsts',
        'http-redirect',
        'https-available',
        // body-parser's message in the 400.
        'input-malformed-json',
        // The sum of the above, graded.
        'observatory-score',
        'permissions-policy',
        'referrer-policy',
        'x-content-type-options',
        // Express's X-Powered-By.
        'x-powered-by',
      ].sort(),
    );
  });

  it('names connect.sid as revealing Express, and plain HTTP as a high failure', () => {
    assert.match(finding(report, 'cookie-name-reveals-stack').evidence, /connect\.sid \(Express/);
    assert.equal(finding(report, 'https-available').severity, 'high');
    assert.equal(finding(report, 'http-redirect').severity, 'high');
    assert.match(finding(report, 'x-powered-by').evidence, /Express/);
    assert.match(finding(report, 'error-stack-trace').evidence, /malformed JSON/);
  });

  it('cannot see TLS at all, and says so instead of passing it', () => {
    for (const id of ['tls-legacy-versions', 'tls-weak-suites', 'tls-certificate-trusted', 'tls-certificate-expiry']) assert.equal(finding(report, id).status, 'not-checked', id);
  });

  it('scores it as the Observatory does: F, with the penalties named', () => {
    const observatory = report.observatory;
    assert.ok(observatory);
    assert.equal(observatory.score, 0);
    assert.equal(observatory.grade, 'F');
    const results = new Map(observatory.tests.map((test) => [test.name, test.result]));
    assert.equal(results.get('content-security-policy'), 'csp-not-implemented');
    assert.equal(results.get('redirection'), 'redirection-missing');
    assert.equal(results.get('strict-transport-security'), 'hsts-not-implemented-no-https');
    assert.equal(results.get('cookies'), 'cookies-without-secure-flag');
  });
});

describe('check of a half-hardened app (HTTPS self-signed, helmet defaults, a few planted faults)', () => {
  let server: FixtureServer;
  let trusted: Report;
  let untrusted: Report;
  const planted = [
    // TLS 1.0/1.1 allowed (when this OpenSSL can do it at all, added in before()); the SECLEVEL=0
    // cipher list that needs also lets TLS 1.2 take CBC suites.
    'tls-weak-suites',
    // 'unsafe-inline' scripts in the CSP.
    'csp-unsafe-sources',
    // helmet's defaults send no Permissions-Policy.
    'permissions-policy',
    // The session cookie has its own __Host- name but no SameSite.
    'cookie-samesite',
    'exposed-metrics',
    'exposed-source-maps',
    // The sum of the above, graded (80, B+ with the certificate trusted).
    'observatory-score',
  ];
  before(async () => {
    server = await startHalfHardenedApp();
    if (server.acceptsTls10 === true) planted.push('tls-legacy-versions');
    else process.stdout.write("# this machine's OpenSSL cannot do TLS 1.0: the TLS 1.0 plant is skipped\n");
    trusted = await runUrlCheck(server.url, { ...baseOptions, extraCa: [server.ca] });
    untrusted = await runUrlCheck(server.url, baseOptions);
  });
  after(async () => {
    await server.close();
  });

  it('reports every planted fault and nothing else when its certificate is trusted (--ca)', () => {
    assert.deepEqual(flagged(trusted), [...planted].sort());
  });

  it('also reports the self-signed certificate when it is not given with --ca', () => {
    assert.deepEqual(flagged(untrusted), [...planted, 'tls-certificate-trusted'].sort());
    const trust = finding(untrusted, 'tls-certificate-trusted');
    assert.equal(trust.severity, 'high');
    assert.match(trust.evidence, /SELF_SIGNED/);
    assert.match(trust.fix, /--ca/);
  });

  it('reports both old TLS versions it accepted, and the CSP sources by directive', () => {
    if (server.acceptsTls10 === true) assert.match(finding(trusted, 'tls-legacy-versions').evidence, /TLSv1 with .*TLSv1\.1 with/);
    const csp = finding(trusted, 'csp-unsafe-sources');
    assert.equal(csp.severity, 'high');
    assert.match(csp.evidence, /scripts allow 'unsafe-inline'/);
  });

  it('does not guess where plain HTTP is served when the URL names the TLS port', () => {
    assert.equal(finding(trusted, 'http-redirect').status, 'not-checked');
  });

  it('scores it as the Observatory does, with the certificate trusted and without', () => {
    assert.ok(trusted.observatory && untrusted.observatory);
    assert.equal(trusted.observatory.score, 80);
    assert.equal(trusted.observatory.grade, 'B+');
    assert.equal(untrusted.observatory.score, 60);
    assert.equal(new Map(untrusted.observatory.tests.map((test) => [test.name, test.result])).get('strict-transport-security'), 'hsts-invalid-cert');
  });
});

describe('check of Portcullis itself', () => {
  let server: TestServer;
  let report: Report;
  before(async () => {
    // PUBLIC_URL on the same host and port the check uses, so the redirect is to the same host.
    const port = await freePort();
    server = await startTestServer({ PORTCULLIS_HTTPS_PORT: String(port), PORTCULLIS_PUBLIC_URL: `https://127.0.0.1:${port}` });
    assert.ok(server.redirectUrl);
    const started = Date.now();
    report = await runUrlCheck(server.url, { ...baseOptions, extraCa: [server.ca], httpPort: Number(new URL(server.redirectUrl).port) });
    // Timing belongs in benchmarks; printed for the record, not asserted.
    process.stdout.write(`# URL check of a loopback Portcullis: ${Date.now() - started} ms (report: ${report.durationMs} ms)\n`);
  });
  after(async () => {
    await server.close();
  });

  it('fails and warns about nothing', () => {
    assert.deepEqual(flagged(report), []);
  });

  it('leaves unchecked only what cannot be seen from outside', () => {
    const notChecked = report.findings
      .filter((finding) => finding.status === 'not-checked')
      .map((finding) => finding.id)
      .sort();
    // Practices 1, 2, 6, 8 (beyond its endpoints) and 11 are invisible over HTTP; the home page sets
    // no cookie (sessions start at sign-in); the rate limit is only probed on request (without the
    // probe it passes when the server advertises RateLimit headers, else it is not checked).
    const invisible = ['authentication', 'dependencies-current', 'monitoring', 'run-without-root', 'security-linter'];
    const allowed = new Set([...invisible, 'cookies', 'rate-limit']);
    for (const id of notChecked) assert.ok(allowed.has(id), `unexpected not-checked: ${id}`);
    for (const id of invisible) assert.ok(notChecked.includes(id), `${id} should be reported as not checked`);
    for (const finding of report.findings.filter((candidate) => candidate.status === 'not-checked')) assert.equal(finding.severity, 'info');
  });

  it('passes every check of TLS, redirect, headers, errors, exposure and input', () => {
    for (const id of [
      'https-available',
      'http-redirect',
      'tls-legacy-versions',
      'tls-weak-suites',
      'tls-certificate-trusted',
      'tls-certificate-expiry',
      'hsts',
      'csp',
      'csp-unsafe-sources',
      'csp-directives',
      'frame-protection',
      'x-content-type-options',
      'referrer-policy',
      'cross-origin-opener-policy',
      'cross-origin-resource-policy',
      'permissions-policy',
      'x-powered-by',
      'server-version',
      'cors',
      'subresource-integrity',
      'error-stack-trace',
      'error-framework-disclosure',
      'error-server-errors',
      'trace-method',
      'exposed-metrics',
      'exposed-env-file',
      'exposed-git',
      'exposed-source-maps',
      'exposed-debug-endpoints',
      'exposed-server-status',
      'input-body-size-limit',
      'input-unsupported-media-type',
      'input-malformed-json',
      'observatory-score',
    ]) {
      assert.equal(finding(report, id).status, 'pass', `${id}: ${finding(report, id).evidence}`);
    }
  });

  it('earns the Observatory grade A+ with at least 130 points', () => {
    const observatory = report.observatory;
    assert.ok(observatory);
    assert.equal(observatory.grade, 'A+');
    assert.ok((observatory.score ?? 0) >= 130, String(observatory.score));
  });

  it('judges the redirect listener: 301 to https on the same host', () => {
    assert.match(finding(report, 'http-redirect').evidence, /→ 301 Location: https:\/\/127\.0\.0\.1:/);
  });

  // Last: the burst uses up this server's request budget.
  it('answers the rate-limit burst with a 429 or advertises a higher limit', async () => {
    assert.ok(server.redirectUrl);
    const probed = await runUrlCheck(server.url, { ...baseOptions, extraCa: [server.ca], httpPort: Number(new URL(server.redirectUrl).port), probeRateLimit: true });
    const rateLimit = finding(probed, 'rate-limit');
    assert.equal(rateLimit.status, 'pass', rateLimit.evidence);
  });
});
