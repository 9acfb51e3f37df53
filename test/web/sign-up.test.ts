// test/web/sign-up.test.ts
// Creating an account through the pages and confirming it by the emailed link: the forms are
// accessible, opening a link changes nothing, a link works once, and a taken address is not told apart.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { internalsPattern } from '../helpers/test-server.js';
import { countRows, expireToken, findUser } from './support/database.js';
import { passwords, startAccountsHarness, type AccountsHarness } from './support/harness.js';

describe('sign-up and email verification pages', () => {
  let harness: AccountsHarness;
  before(async () => {
    harness = await startAccountsHarness();
  });
  after(async () => {
    await harness.close();
  });

  it('serves an accessible sign-up form with a token and no inline script or style', async () => {
    const client = harness.client();
    const page = await client.get('/sign-up');
    assert.equal(page.status, 200);
    assert.match(page.body, /<label for="email">Email address<\/label>/);
    assert.match(page.body, /<input id="email" name="email" type="email" autocomplete="email"/);
    assert.match(page.body, /<input id="password" name="password" type="password" autocomplete="new-password"[^>]*aria-describedby="password-hint"/);
    assert.match(page.body, /name="_csrf" value="[A-Za-z0-9_-]{43}"/);
    assert.doesNotMatch(page.body, /<script|<style|\sstyle=|\son[a-z]+=/i);
    // The form needs a session to bind its token to: the pre-sign-in session's cookie is set.
    assert.ok(client.sessionCookie);
  });

  it('creates an account, emails a link, and opening the link only shows a button', async () => {
    const client = harness.client();
    await client.get('/sign-up');
    const answer = await client.submit('/sign-up', { email: 'Ada@Example.com ', password: passwords.first, displayName: 'Ada' });
    assert.equal(answer.status, 303);
    assert.equal(answer.headers.location, '/check-email');
    assert.match((await client.get('/check-email')).body, /Check your email/);

    const { link } = await harness.linkFromEmail('ada@example.com', '/verify-email');
    const token = link.searchParams.get('token') ?? '';
    // Mail scanners open links: two GETs must leave the token unused.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const page = await client.get(link.pathname + link.search);
      assert.equal(page.status, 200);
      assert.match(page.body, /<form method="post" action="\/verify-email">/);
      assert.match(page.body, /Confirm my email address<\/button>/);
    }
    assert.equal((await findUser(harness.server, 'ada@example.com'))?.email_verified_at, null);

    const confirmed = await client.submit('/verify-email', { token });
    assert.equal(confirmed.status, 303);
    assert.equal(confirmed.headers.location, '/sign-in');
    assert.notEqual((await findUser(harness.server, 'ada@example.com'))?.email_verified_at, null);
    assert.match((await client.get('/sign-in')).body, /Your email address is confirmed\./);
  });

  it('refuses a link used twice, expired, forged or malformed, with the same generic page', async () => {
    const client = harness.client();
    await client.get('/sign-up');
    await client.submit('/sign-up', { email: 'grace@example.com', password: passwords.first, displayName: '' });
    const { link } = await harness.linkFromEmail('grace@example.com', '/verify-email');
    const token = link.searchParams.get('token') ?? '';
    await client.get(link.pathname + link.search);
    assert.equal((await client.submit('/verify-email', { token })).status, 303);

    const reused = await client.submit('/verify-email', { token });
    assert.equal(reused.status, 400);
    assert.match(reused.body, /role="alert">This link is not valid, has expired or was already used/);

    const forged = await client.submit('/verify-email', { token: 'A'.repeat(43) });
    assert.equal(forged.status, 400);
    const malformed = await client.submit('/verify-email', { token: '<script>alert(1)</script>' });
    assert.equal(malformed.status, 400);
    assert.doesNotMatch(malformed.body, /<script>alert/);
    for (const answer of [reused, forged, malformed]) assert.doesNotMatch(answer.body, internalsPattern);

    // A fresh account whose link has expired.
    const late = harness.client();
    await late.get('/sign-up');
    await late.submit('/sign-up', { email: 'late@example.com', password: passwords.first, displayName: '' });
    const expiring = await harness.linkFromEmail('late@example.com', '/verify-email');
    const expiringToken = expiring.link.searchParams.get('token') ?? '';
    await expireToken(harness.server, expiringToken);
    await late.get(expiring.link.pathname + expiring.link.search);
    const expired = await late.submit('/verify-email', { token: expiringToken });
    assert.equal(expired.status, 400);
    assert.equal((await findUser(harness.server, 'late@example.com'))?.email_verified_at, null);
  });

  it('answers a taken address exactly like a new one, and tells the owner instead', async () => {
    const first = harness.client();
    await first.get('/sign-up');
    const fresh = await first.submit('/sign-up', { email: 'lin@example.com', password: passwords.first, displayName: '' });
    await harness.linkFromEmail('lin@example.com', '/verify-email');
    const again = harness.client();
    await again.get('/sign-up');
    const taken = await again.submit('/sign-up', { email: 'LIN@example.com', password: passwords.second, displayName: '' });
    assert.equal(taken.status, fresh.status);
    assert.equal(taken.headers.location, fresh.headers.location);
    const notice = await harness.smtp.waitForMessage('lin@example.com', () => true, 10_000);
    assert.doesNotMatch(notice.text, /verify-email\?token=/);
  });

  it('re-renders a refused password with the reason tied to the field, keeps the email, stores nothing', async () => {
    const client = harness.client();
    await client.get('/sign-up');
    const before = await countRows(harness.server);
    const refused = await client.submit('/sign-up', { email: 'weak@example.com', password: 'password1234567', displayName: 'Weak' });
    assert.equal(refused.status, 422);
    assert.match(refused.body, /<input id="password"[^>]*aria-invalid="true"[^>]*aria-describedby="password-hint password-error"/);
    assert.match(refused.body, /<p class="field-error" id="password-error">[^<]+<\/p>/);
    assert.match(refused.body, /value="weak@example.com"/);
    // The password itself never comes back into the page.
    assert.doesNotMatch(refused.body, /password1234567/);
    assert.deepEqual(await countRows(harness.server), before);
  });

  it('shows an unverified account only the verification page, and sends a new link on request', async () => {
    const client = harness.client();
    await client.get('/sign-up');
    await client.submit('/sign-up', { email: 'una@example.com', password: passwords.first, displayName: '' });
    await harness.linkFromEmail('una@example.com', '/verify-email');
    await client.get('/sign-in');
    const signIn = await client.submit('/sign-in', { email: 'una@example.com', password: passwords.first, return: '/account' });
    assert.equal(signIn.status, 303);
    assert.equal(signIn.headers.location, '/verify-email');

    for (const path of ['/', '/account', '/reauthenticate', '/admin/users']) {
      const page = await client.get(path);
      assert.equal(page.status, 303, path);
      assert.equal(page.headers.location, '/verify-email', path);
    }
    const sessions = await client.api('GET', '/me/sessions');
    assert.equal(sessions.status, 403);
    assert.equal((sessions.json() as { error: { code: string } }).error.code, 'EMAIL_NOT_VERIFIED');
    assert.equal((await client.api('GET', '/me')).status, 200);

    const pending = await client.get('/verify-email');
    assert.match(pending.body, /We sent a link to una@example\.com/);
    const resend = await client.submit('/verify-email/resend', {});
    assert.equal(resend.status, 303);
    const { link } = await harness.linkFromEmail('una@example.com', '/verify-email');
    const idBefore = client.sessionId;
    await client.get(link.pathname + link.search);
    const confirmed = await client.submit('/verify-email', { token: link.searchParams.get('token') ?? '' });
    assert.equal(confirmed.headers.location, '/account');
    // Confirming is a privilege change: the session continues under a new id.
    assert.notEqual(client.sessionId, idBefore);
    assert.equal((await client.get('/account')).status, 200);
  });

  it('lets verification be switched off by configuration', async () => {
    const relaxed = await startAccountsHarness({ PORTCULLIS_REQUIRE_VERIFIED_EMAIL: 'off' });
    try {
      const client = relaxed.client();
      await client.get('/sign-up');
      await client.submit('/sign-up', { email: 'free@example.com', password: passwords.first, displayName: '' });
      await client.get('/sign-in');
      const signIn = await client.submit('/sign-in', { email: 'free@example.com', password: passwords.first, return: '/account' });
      assert.equal(signIn.headers.location, '/account');
      assert.equal((await client.get('/account')).status, 200);
    } finally {
      await relaxed.close();
    }
  });
});
