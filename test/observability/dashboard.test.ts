// test/observability/dashboard.test.ts
// /admin/security: administrators only (the same rule, MFA included, as /admin/users), rendered
// on the server with SVG charts and no script or inline style under the unchanged CSP, showing
// what just happened (sign-ins, throttling, networks of failures, sessions, MFA adoption, events),
// with event filters validated like every other input; the admin navigation links to it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testRedisUrl } from '../helpers/test-server.js';
import { enrolTotpByApi, wrongTotpCode } from '../mfa/support/web.js';
import type { WebClient } from '../web/support/client.js';
import { passwords, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';

/** The figure shown under a label in the "at a glance" row. */
function figure(html: string, label: string): string | undefined {
  const at = html.indexOf(`<div class="stat-label">${label}</div>`);
  if (at === -1) return undefined;
  const before = html.slice(0, at);
  return /<div class="stat-value">([^<]*)<\/div>$/.exec(before)?.[1];
}

describe('security dashboard', () => {
  let harness: AccountsHarness;
  let admin: WebClient;
  before(async () => {
    harness = await startAccountsHarness({
      PORTCULLIS_MFA_REQUIRED: 'none',
      // Failures arrive "from" other networks through X-Forwarded-For, as behind a proxy.
      PORTCULLIS_TRUST_PROXY: 'loopback',
      PORTCULLIS_RATE_LIMIT_AUTH_MAX: '1000',
      PORTCULLIS_SIGN_IN_IP_MAX_FAILURES: '1000',
      PORTCULLIS_SIGN_IN_THROTTLE_AFTER: '3',
    });
    const accounts = harness.server.server.accounts;
    await accounts.createUser({ email: 'chief@example.com', password: passwords.first, role: 'admin', emailVerified: true });
    await accounts.createUser({ email: 'plain@example.com', password: passwords.first, role: 'user', emailVerified: true });
    await accounts.createUser({ email: 'victim@example.com', password: passwords.first, role: 'user', emailVerified: true });
    admin = harness.client();
    await admin.signIn('chief@example.com', passwords.first);
  });
  after(async () => {
    await harness.close();
  });

  async function failFrom(address: string, email: string) {
    const client = harness.client();
    await client.get('/sign-in', { headers: { 'x-forwarded-for': address } });
    return client.submit('/sign-in', { email, password: 'definitely not it 123' }, { headers: { 'x-forwarded-for': address } });
  }

  it('is for administrators only: visitors sign in first, everyone else gets 403, logged and audited', async () => {
    const anonymous = await harness.client().get('/admin/security');
    assert.equal(anonymous.status, 303);
    assert.equal(anonymous.headers.location, `/sign-in?return=${encodeURIComponent('/admin/security')}`);
    const user = harness.client();
    await user.signIn('plain@example.com', passwords.first);
    const refused = await user.get('/admin/security');
    assert.equal(refused.status, 403);
    assert.doesNotMatch(refused.body, /Sign-ins per hour/);
    const denied = await harness.server.server.db.selectFrom('audit_events').select(['type', 'detail']).where('type', '=', 'authorization_denied').execute();
    assert.ok(denied.some((event) => event.detail?.includes('/admin/security')));
    assert.equal((await admin.get('/admin/security')).status, 200);
    // Administrators reach it from the navigation; nobody else is shown the link.
    const navigation = (html: string) => /<nav aria-label="Main">([\s\S]*?)<\/nav>/.exec(html)?.[1] ?? '';
    const adminNavigation = navigation((await admin.get('/account')).body);
    assert.match(adminNavigation, /<a href="\/admin\/users">Users<\/a>/);
    assert.match(adminNavigation, /<a href="\/admin\/security">Security<\/a>/);
    const userNavigation = navigation((await user.get('/account')).body);
    assert.match(userNavigation, /<a href="\/account">Account<\/a>/);
    assert.doesNotMatch(userNavigation, /\/admin\//);
  });

  it('shows the sign-ins, throttling, networks of failures and sessions that just happened', async () => {
    for (const address of ['203.0.113.77', '203.0.113.78', '203.0.113.79']) assert.equal((await failFrom(address, 'victim@example.com')).status, 401);
    assert.equal((await failFrom('2001:db8:beef:1::5', 'nobody@example.com')).status, 401);
    // The victim's account is now throttled (after 3 failures): one more attempt is refused unevaluated.
    assert.equal((await failFrom('203.0.113.80', 'victim@example.com')).status, 401);

    const page = await admin.get('/admin/security');
    assert.equal(page.status, 200);
    const html = page.body;
    assert.equal(figure(html, 'Sign-ins failed'), '4');
    assert.equal(figure(html, 'Throttled accounts'), '1');
    assert.equal(figure(html, 'Sign-ins succeeded'), '2', 'the administrator and the plain user');
    // Signed-in sessions exactly when they are in the database; Redis's store counts every live entry.
    if (testRedisUrl === undefined) assert.equal(figure(html, 'Active sessions'), '2');
    else assert.match(figure(html, 'Active sessions') ?? '', /^\d+$/);
    assert.match(html, /1 account began to be throttled \(their owners were emailed\); 1 attempts were refused/);
    // Networks, never addresses, in the top sources.
    const sources = html.slice(html.indexOf('id="sources-heading"'), html.indexOf('id="mfa-heading"'));
    assert.match(sources, /203\.0\.113\.0\/24/);
    assert.match(sources, /2001:db8:beef::\/48/);
    assert.doesNotMatch(sources, /203\.0\.113\.7[789]|2001:db8:beef:1::5/);
    // Five charts, each an SVG image with a title, and their numbers in tables.
    assert.equal((html.match(/<svg class="chart-svg" viewBox="0 0 720 240" role="img"/g) ?? []).length, 4);
    assert.match(html, /<title id="chart-hourly-title">Sign-ins per hour, last 24 hours<\/title>/);
    const hour = `${new Date().toISOString().slice(11, 13)}:00`;
    const hourRow = html.slice(html.indexOf(`<th scope="row">${hour}</th>`)).split('</tr>', 1)[0] ?? '';
    assert.match(hourRow, /^<th scope="row">\d\d:00<\/th><td>\d+<\/td><td>4<\/td><td>1<\/td>$/, 'this hour: succeeded, failed 4, throttled 1');
    // The events list, newest first, with who and from where.
    assert.match(html, /<code class="muted">sign_in<\/code>/);
    assert.match(html, /reason=account_throttled/);
  });

  it('renders without script or inline style, under the same CSP as every page', async () => {
    const page = await admin.get('/admin/security');
    assert.doesNotMatch(page.body, /<script/i);
    assert.doesNotMatch(page.body, /\sstyle=/i);
    assert.doesNotMatch(page.body, /\son[a-z]+=/i);
    assert.match(page.body, /<link rel="stylesheet" href="\/assets\/dashboard\.css"\/?>/);
    const account = await admin.get('/account');
    assert.equal(page.headers['content-security-policy'], account.headers['content-security-policy']);
    assert.equal(page.headers['cache-control'], 'no-store');
    const css = await harness.server.request('/assets/dashboard.css');
    assert.equal(css.status, 200);
    assert.match(String(css.headers['content-type']), /^text\/css/);
  });

  it('filters the events by type, outcome and date range', async () => {
    const failures = await admin.get('/admin/security?type=sign_in&outcome=failure');
    assert.equal(failures.status, 200);
    const rows = failures.body.slice(failures.body.indexOf('<table class="events">'));
    assert.match(rows, /<code class="muted">sign_in<\/code>/);
    assert.doesNotMatch(rows, /<code class="muted">(?!sign_in<)[a-z_]+<\/code>/, 'only sign-in events');
    assert.doesNotMatch(rows, /<td>success<\/td>/, 'only failures');
    assert.match(failures.body, /<option value="sign_in" selected="">|<option selected="" value="sign_in">|<option value="sign_in" selected>/);

    const today = new Date().toISOString().slice(0, 10);
    assert.match((await admin.get(`/admin/security?from=${today}&to=${today}`)).body, /<table class="events">/);
    const past = await admin.get('/admin/security?from=2020-01-01&to=2020-01-31');
    assert.match(past.body, /No event matches\./);
    // An empty form field means "any".
    assert.equal((await admin.get('/admin/security?type=&outcome=&from=&to=')).status, 200);
  });

  it('refuses filters that are not valid, without echoing them', async () => {
    for (const query of ['outcome=maybe', 'from=2026-13-01', 'from=yesterday', 'from=2026-02-02&to=2026-02-01', 'type=Sign%20In%3Cscript%3E', 'page=0', 'page=21', 'unknown=1', 'type=a&type=b']) {
      const answer = await admin.get(`/admin/security?${query}`);
      assert.equal(answer.status, 400, query);
      assert.doesNotMatch(answer.body, /<script>|Sign In/, 'nothing sent comes back');
    }
  });

  it('shows MFA adoption and failed second factors after an account turns on its authenticator', async () => {
    assert.equal(figure((await admin.get('/admin/security')).body, 'MFA adoption'), '0%');
    const user = harness.client();
    await user.apiSignIn('plain@example.com', passwords.first);
    const { secret } = await enrolTotpByApi(user);
    const wrong = await user.api('POST', '/auth/mfa/totp', { code: wrongTotpCode(secret) });
    assert.equal(wrong.status, 401, wrong.body);

    const html = (await admin.get('/admin/security')).body;
    assert.equal(figure(html, 'MFA adoption'), '33%');
    assert.match(html, /<div class="stat-note muted">1 of 3 accounts<\/div>/);
    const mfa = html.slice(html.indexOf('id="mfa-heading"'), html.indexOf('id="events-heading"'));
    assert.doesNotMatch(mfa, /No failed second factor\./);
    assert.match(mfa, /totp/);
  });
});

describe('security dashboard and the MFA rule for administrators', () => {
  let harness: AccountsHarness;
  before(async () => {
    // The default policy: administrators must use a second factor.
    harness = await startAccountsHarness();
    await harness.server.server.accounts.createUser({ email: 'boss@example.com', password: passwords.first, role: 'admin', emailVerified: true });
  });
  after(async () => {
    await harness.close();
  });

  it('answers an administrator without a second factor exactly as the other admin pages do', async () => {
    const client = harness.client();
    await client.get('/sign-in');
    await client.submit('/sign-in', { email: 'boss@example.com', password: passwords.first, return: '/account' });
    const users = await client.get('/admin/users');
    const security = await client.get('/admin/security');
    assert.equal(security.status, users.status);
    assert.equal(security.headers.location?.replace(/security/g, 'users'), users.headers.location);
    if (users.status === 200) assert.match(security.body, /Sign-ins per hour/);
    else assert.doesNotMatch(security.body, /Sign-ins per hour/);
  });
});
