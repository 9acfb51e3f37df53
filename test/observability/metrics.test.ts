// test/observability/metrics.test.ts
// Prometheus metrics: served on their own listener and never on the public port (where /metrics
// must be an ordinary 404), labelled with bounded values only (route templates and status
// classes, never a raw path, an address or a user), and every security counter moves after the
// action that should move it, through the real server.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testRedisUrl } from '../helpers/test-server.js';
import type { WebClient } from '../web/support/client.js';
import { passwords, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';
import { counter, fetchText, scrape, valueOf, waitFor } from './support.js';

async function createUser(harness: AccountsHarness, email: string, role: 'user' | 'admin' = 'user') {
  return harness.server.server.accounts.createUser({ email, password: passwords.first, role, emailVerified: true });
}

async function failSignIn(client: WebClient, email: string) {
  await client.get('/sign-in');
  return client.submit('/sign-in', { email, password: 'not the password at all 42' });
}

function metricsUrlOf(harness: AccountsHarness): string {
  const url = harness.server.server.metricsUrl;
  if (url === undefined) throw new Error('the metrics listener is not running');
  return url;
}

describe('metrics', () => {
  let harness: AccountsHarness;
  let metricsUrl: string;
  before(async () => {
    harness = await startAccountsHarness({
      PORTCULLIS_METRICS_ADDR: '127.0.0.1:0',
      // Room for every sign-in this file makes from 127.0.0.1; the throttling of one account stays.
      PORTCULLIS_RATE_LIMIT_AUTH_MAX: '1000',
      PORTCULLIS_SIGN_IN_IP_MAX_FAILURES: '1000',
      PORTCULLIS_SIGN_IN_THROTTLE_AFTER: '2',
    });
    metricsUrl = metricsUrlOf(harness);
  });
  after(async () => {
    await harness.close();
  });

  it('serves /metrics on its own loopback listener; on the public port /metrics is a plain 404', async () => {
    assert.match(metricsUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await harness.server.request('/')).status, 200);
    const scraped = await fetchText(`${metricsUrl}/metrics`);
    assert.equal(scraped.status, 200);
    assert.match(scraped.contentType, /^text\/plain; version=0\.0\.4/);
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes', 'http_request_duration_seconds_bucket', 'portcullis_sign_ins_total', 'portcullis_active_sessions']) {
      assert.ok(scraped.body.split('\n').some((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `)), `${name} is exposed`);
    }
    // Nothing else on the metrics listener.
    assert.equal((await fetchText(`${metricsUrl}/`)).status, 404);
    assert.equal((await fetchText(`${metricsUrl}/metrics`, { method: 'POST' })).status, 404);

    const publicMetrics = await harness.server.request('/metrics', { headers: { accept: 'text/html' } });
    const unknown = await harness.server.request('/no-such-page', { headers: { accept: 'text/html' } });
    assert.equal(publicMetrics.status, 404);
    assert.equal(publicMetrics.headers['content-type'], unknown.headers['content-type']);
    assert.equal(publicMetrics.body.replace(/[0-9a-f-]{36}/g, 'ID'), unknown.body.replace(/[0-9a-f-]{36}/g, 'ID'), 'the same page as any unknown address');
    assert.doesNotMatch(publicMetrics.body, /portcullis_|process_cpu|# HELP/);
    const publicJson = await harness.server.request('/metrics', { headers: { accept: 'application/json' } });
    assert.equal(publicJson.status, 404);
    assert.equal((publicJson.json() as { error: { code: string } }).error.code, 'NOT_FOUND');
  });

  it('labels request durations by route template and status class, never by raw path or user', async () => {
    const user = await createUser(harness, 'labels@example.com');
    const client = harness.client();
    await client.signIn('labels@example.com', passwords.first);
    // A route with a parameter (refused: not an admin), an API route under its mount path, and
    // addresses no route matches, one of them carrying a would-be secret.
    await client.get('/account');
    assert.equal((await client.submit(`/admin/users/${user.id}/disable`, {})).status, 403);
    assert.equal((await client.api('GET', '/me')).status, 200);
    await harness.server.request('/nothing-here-7f3a9c?token=sekrit-token-value');

    const samples = await scrape(metricsUrl);
    const histogram = samples.filter((sample) => sample.name === 'http_request_duration_seconds_count');
    const has = (route: string, method: string, statusClass: string) => histogram.some((sample) => sample.labels.get('route') === route && sample.labels.get('method') === method && sample.labels.get('status_class') === statusClass && sample.value >= 1);
    assert.ok(has('/admin/users/:id/disable', 'POST', '4xx'), 'the parameter stays a template');
    assert.ok(has('/api/v1/me', 'GET', '2xx'), 'the mount path is joined to the route');
    assert.ok(has('/account', 'GET', '2xx'));
    assert.ok(has('/sign-in', 'POST', '3xx'));
    assert.ok(has('unmatched', 'GET', '4xx'));
    const text = (await fetchText(`${metricsUrl}/metrics`)).body;
    for (const leak of [user.id, 'labels@example.com', 'nothing-here', 'sekrit', '127.0.0.1']) assert.ok(!text.includes(leak), `no ${leak} in the metrics`);
    assert.deepEqual([...new Set(histogram.map((sample) => sample.labels.get('status_class')))].filter((value) => !/^[1-5]xx$/.test(value ?? '')), []);
  });

  it('counts sign-ins by outcome, and signed-in sessions on each scrape', async () => {
    await createUser(harness, 'outcomes@example.com');
    const failures = await counter(metricsUrl, 'portcullis_sign_ins_total', { outcome: 'failure' });
    const successes = await counter(metricsUrl, 'portcullis_sign_ins_total', { outcome: 'success' });
    const sessionsBefore = valueOf(await scrape(metricsUrl), 'portcullis_active_sessions');

    assert.equal((await failSignIn(harness.client(), 'outcomes@example.com')).status, 401);
    // An unknown address fails the same way and is counted the same way.
    assert.equal((await failSignIn(harness.client(), 'nobody-at-all@example.com')).status, 401);
    assert.equal(await failures.moved(), 2);
    assert.equal(await successes.moved(), 0);

    const client = harness.client();
    await client.signIn('outcomes@example.com', passwords.first);
    assert.equal(await successes.moved(), 1);
    // Redis expires sessions by itself and its store counts every live entry (anonymous ones with
    // a form token too); the database's count is of signed-in, unexpired sessions exactly.
    const expected = async (databaseCount: number) => (testRedisUrl === undefined ? databaseCount : harness.server.sessions.count());
    assert.equal(valueOf(await scrape(metricsUrl), 'portcullis_active_sessions'), await expected(sessionsBefore + 1));
    await client.get('/account');
    assert.equal((await client.submit('/sign-out', {})).status, 303);
    assert.equal(valueOf(await scrape(metricsUrl), 'portcullis_active_sessions'), await expected(sessionsBefore));
  });

  it('counts throttled sign-ins and the one lockout email that starts the throttling', async () => {
    await createUser(harness, 'targeted@example.com');
    const lockouts = await counter(metricsUrl, 'portcullis_lockout_emails_total');
    const throttled = await counter(metricsUrl, 'portcullis_sign_ins_total', { outcome: 'throttled' });
    // Failures until throttling begins (the 2nd here), bounded.
    for (let attempt = 0; attempt < 6 && (await lockouts.moved()) === 0; attempt += 1) {
      assert.equal((await failSignIn(harness.client(), 'targeted@example.com')).status, 401);
    }
    assert.equal(await lockouts.moved(), 1);
    assert.equal(await throttled.moved(), 0);
    // The next attempt from an unknown browser is refused unevaluated: same answer, counted as throttled.
    assert.equal((await failSignIn(harness.client(), 'targeted@example.com')).status, 401);
    assert.equal(await throttled.moved(), 1);
    assert.equal(await lockouts.moved(), 1, 'one email per episode');
  });

  it('counts password resets requested and completed', async () => {
    await createUser(harness, 'forgetful@example.com');
    const requested = await counter(metricsUrl, 'portcullis_password_resets_total', { stage: 'requested' });
    const completed = await counter(metricsUrl, 'portcullis_password_resets_total', { stage: 'completed' });
    const client = harness.client();
    await client.get('/forgot-password');
    assert.equal((await client.submit('/forgot-password', { email: 'forgetful@example.com' })).status, 303);
    assert.equal(await waitFor(() => requested.moved(), (moved) => moved >= 1), 1);
    const { link } = await harness.linkFromEmail('forgetful@example.com', '/reset-password');
    await client.get(link.pathname + link.search);
    assert.equal((await client.submit('/reset-password', { token: link.searchParams.get('token') ?? '', newPassword: passwords.second })).status, 303);
    assert.equal(await completed.moved(), 1);
  });

  it('counts CSRF refusals by reason', async () => {
    const missing = await counter(metricsUrl, 'portcullis_csrf_refusals_total', { reason: 'missing-token' });
    const foreign = await counter(metricsUrl, 'portcullis_csrf_refusals_total', { reason: 'foreign-origin' });
    const client = harness.client();
    await client.get('/sign-in');
    assert.equal((await client.submit('/sign-in', { email: 'a@example.com', password: 'x' }, { token: null })).status, 403);
    assert.equal((await client.submit('/sign-in', { email: 'a@example.com', password: 'x' }, { headers: { origin: 'https://evil.example' } })).status, 403);
    // The refusal is audited after the answer goes out; the counter follows the audit trail.
    assert.equal(await waitFor(() => missing.moved(), (moved) => moved >= 1), 1);
    assert.equal(await waitFor(() => foreign.moved(), (moved) => moved >= 1), 1);
  });

  it('counts CSP violation reports by directive', async () => {
    const reports = await counter(metricsUrl, 'portcullis_csp_reports_total', { directive: 'script-src-elem' });
    const body = JSON.stringify({ 'csp-report': { 'document-uri': `${harness.server.config.publicOrigin}/account`, 'effective-directive': 'script-src-elem', 'blocked-uri': 'https://evil.example/x.js', disposition: 'enforce' } });
    const answer = await harness.server.request('/csp-reports', { method: 'POST', headers: { 'content-type': 'application/csp-report' }, body });
    assert.equal(answer.status, 204);
    assert.equal(await reports.moved(), 1);
  });
});

describe('metrics of rate limiting', () => {
  let harness: AccountsHarness;
  before(async () => {
    harness = await startAccountsHarness({ PORTCULLIS_METRICS_ADDR: '127.0.0.1:0', PORTCULLIS_RATE_LIMIT_AUTH_MAX: '2' });
  });
  after(async () => {
    await harness.close();
  });

  it('counts requests refused with 429 by the limiter that refused them', async () => {
    const metricsUrl = metricsUrlOf(harness);
    const auth = await counter(metricsUrl, 'portcullis_rate_limited_requests_total', { limiter: 'auth' });
    const reports = await counter(metricsUrl, 'portcullis_rate_limited_requests_total', { limiter: 'csp_reports' });
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1) statuses.push((await failSignIn(harness.client(), 'anyone@example.com')).status);
    assert.deepEqual(statuses, [401, 401, 429]);
    assert.equal(await auth.moved(), 1);

    // The CSP report endpoint has a limit of its own (30 a minute per network).
    const body = JSON.stringify({ 'csp-report': { 'document-uri': `${harness.server.config.publicOrigin}/`, 'effective-directive': 'img-src' } });
    const answers: number[] = [];
    for (let index = 0; index < 31; index += 1) answers.push((await harness.server.request('/csp-reports', { method: 'POST', headers: { 'content-type': 'application/csp-report' }, body })).status);
    assert.deepEqual([...new Set(answers.slice(0, 30))], [204]);
    assert.equal(answers[30], 429);
    assert.equal(await reports.moved(), 1);
    assert.equal(await auth.moved(), 1, 'each refusal counted once, under its own limiter');
  });
});
