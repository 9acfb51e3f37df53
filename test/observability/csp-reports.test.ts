// test/observability/csp-reports.test.ts
// CSP violation reports: the policy names this site's endpoint (report-uri and report-to with
// Reporting-Endpoints); the endpoint takes both report formats without a session or form token,
// and nothing else: other types, oversized, malformed or foreign reports are refused or dropped,
// query strings never stored, a flood cut at the rate limit. The CSRF exemption is this one path.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { WebClient } from '../web/support/client.js';

function post(server: TestServer, body: string, type: string, headers: Record<string, string> = {}) {
  return server.request('/csp-reports', { method: 'POST', headers: { 'content-type': type, ...headers }, body });
}

describe('CSP violation reports', () => {
  let server: TestServer;
  let origin: string;
  before(async () => {
    server = await startTestServer();
    origin = server.config.publicOrigin;
  });
  after(async () => {
    await server.close();
  });

  const stored = () => server.server.db.selectFrom('csp_reports').selectAll().orderBy('at').execute();

  it('names this site as the report endpoint in the policy, for report-uri and report-to', async () => {
    const page = await server.request('/sign-in');
    const policy = String(page.headers['content-security-policy']);
    assert.match(policy, /(^|;)\s*report-uri \/csp-reports(;|$)/);
    assert.match(policy, /(^|;)\s*report-to csp-endpoint(;|$)/);
    assert.match(policy, /default-src 'none'/, 'the rest of the policy is unchanged');
    assert.equal(page.headers['reporting-endpoints'], 'csp-endpoint="/csp-reports"');
  });

  it('accepts a report-uri report without a session or form token, and stores it without query strings', async () => {
    const body = JSON.stringify({
      'csp-report': {
        'document-uri': `${origin}/reset-password?token=secret-reset-token`,
        'violated-directive': 'script-src-elem',
        'effective-directive': 'script-src-elem',
        'original-policy': "default-src 'none'",
        disposition: 'enforce',
        'blocked-uri': 'https://cdn.evil.example/x.js?session=abc',
        'source-file': `${origin}/account?x=1`,
        'line-number': 12,
        'column-number': 5,
        'status-code': 200,
      },
    });
    const answer = await post(server, body, 'application/csp-report', { origin: 'null' });
    assert.equal(answer.status, 204);
    assert.equal(answer.body, '');
    assert.equal(answer.headers['set-cookie'], undefined, 'no session is made for a report');
    const rows = await stored();
    const row = rows.at(-1);
    assert.ok(row !== undefined);
    assert.equal(row.directive, 'script-src-elem');
    assert.equal(row.document_url, `${origin}/reset-password`);
    assert.equal(row.blocked_url, 'https://cdn.evil.example/x.js');
    assert.equal(row.source_file, `${origin}/account`);
    assert.equal(row.line_number, 12);
    assert.equal(row.network, '127.0.0.0/24');
    assert.ok(!JSON.stringify(rows).includes('secret-reset-token') && !JSON.stringify(rows).includes('session=abc'));
  });

  it('accepts a Reporting API batch, keeping only CSP violations about this site', async () => {
    const before = (await stored()).length;
    const batch = [
      { type: 'csp-violation', age: 10, url: `${origin}/account`, user_agent: 'test', body: { documentURL: `${origin}/account`, effectiveDirective: 'img-src', blockedURL: 'data', disposition: 'report', sample: '' } },
      { type: 'csp-violation', age: 10, url: 'https://other.example/', body: { documentURL: 'https://other.example/', effectiveDirective: 'img-src', disposition: 'enforce' } },
      { type: 'deprecation', age: 10, url: `${origin}/`, body: { id: 'something', message: 'old API' } },
    ];
    const answer = await post(server, JSON.stringify(batch), 'application/reports+json');
    assert.equal(answer.status, 204);
    const rows = await stored();
    assert.equal(rows.length, before + 1, 'the foreign document and the non-CSP report are dropped');
    assert.equal(rows.at(-1)?.directive, 'img-src');
    assert.equal(rows.at(-1)?.disposition, 'report');
  });

  it('refuses other content types, oversized bodies and malformed reports', async () => {
    const valid = JSON.stringify({ 'csp-report': { 'document-uri': `${origin}/`, 'effective-directive': 'img-src' } });
    assert.equal((await post(server, valid, 'text/plain')).status, 415);
    assert.equal((await post(server, new URLSearchParams({ a: 'b' }).toString(), 'application/x-www-form-urlencoded')).status, 415);
    const padded = JSON.stringify({ 'csp-report': { 'document-uri': `${origin}/`, 'effective-directive': 'img-src', 'script-sample': 'x'.repeat(900) }, padding: 'y'.repeat(9 * 1024) });
    const tooLarge = await post(server, padded, 'application/csp-report');
    assert.equal(tooLarge.status, 413);
    assert.equal((await post(server, '{"csp-report":', 'application/csp-report')).status, 400);
    assert.equal((await post(server, JSON.stringify({ 'csp-report': { 'effective-directive': 'img-src' } }), 'application/csp-report')).status, 400);
    assert.equal((await post(server, JSON.stringify({ 'csp-report': { 'document-uri': 42 } }), 'application/csp-report')).status, 400);
    assert.equal((await post(server, JSON.stringify(Array.from({ length: 21 }, () => ({ type: 'csp-violation', body: {} }))), 'application/reports+json')).status, 400);
    // Only POST, only this path.
    assert.equal((await server.request('/csp-reports')).status, 404);
  });

  it('keeps the CSRF exemption to this one endpoint', async () => {
    // The same kind of tokenless, cross-site post anywhere else is still refused.
    const client = new WebClient(server);
    await client.get('/sign-in');
    const refused = await client.submit('/sign-in', { email: 'a@example.com', password: 'x' }, { token: null, headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
    assert.equal(refused.status, 403);
    const report = JSON.stringify({ 'csp-report': { 'document-uri': `${origin}/`, 'effective-directive': 'img-src' } });
    assert.equal((await post(server, report, 'application/csp-report', { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })).status, 204);
    // A path that merely starts like it gets no exemption: its report type is not even accepted.
    const elsewhere = await server.request('/csp-reports/x', { method: 'POST', headers: { 'content-type': 'application/csp-report', origin: 'https://evil.example' }, body: report });
    assert.equal(elsewhere.status, 415);
    // And a form posted there cross-site meets the CSRF check like any other.
    const form = await server.request('/csp-reports/x', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' }, body: 'a=b' });
    assert.equal(form.status, 403);
  });
});
