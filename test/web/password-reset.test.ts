// test/web/password-reset.test.ts
// Forgotten password through the pages: one answer for known and unknown addresses, a link that
// opening does not spend, single use, 30 minutes, and a completed reset that signs out everywhere.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expireToken, sessionExists } from './support/database.js';
import { passwords, signUpAndVerify, startAccountsHarness, type AccountsHarness } from './support/harness.js';

describe('forgot and reset password pages', () => {
  let harness: AccountsHarness;
  before(async () => {
    harness = await startAccountsHarness();
    await signUpAndVerify(harness, 'rosa@example.com', passwords.first);
  });
  after(async () => {
    await harness.close();
  });

  async function requestReset(email: string) {
    const client = harness.client();
    await client.get('/forgot-password');
    return { client, answer: await client.submit('/forgot-password', { email }) };
  }

  it('answers the same for an unknown address and emails a known one', async () => {
    const known = await requestReset('rosa@example.com');
    const unknown = await requestReset('nobody@example.com');
    assert.equal(known.answer.status, 303);
    assert.equal(unknown.answer.status, known.answer.status);
    assert.equal(unknown.answer.headers.location, known.answer.headers.location);
    const notices = await Promise.all([known.client.get('/forgot-password'), unknown.client.get('/forgot-password')]);
    for (const page of notices) assert.match(page.body, /If an account uses that address, we have emailed it a link/);
    const { link } = await harness.linkFromEmail('rosa@example.com', '/reset-password');
    assert.match(link.searchParams.get('token') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(harness.smtp.messages.filter((message) => message.envelopeTo.includes('nobody@example.com')).length, 0);
  });

  it('resets with the emailed link, ends every session, and the link then stops working', async () => {
    const phone = harness.client();
    await phone.signIn('rosa@example.com', passwords.first);
    const laptop = harness.client();
    await laptop.signIn('rosa@example.com', passwords.first);
    const signedIn = [phone.hashedSessionId, laptop.hashedSessionId];

    await requestReset('rosa@example.com');
    const { link } = await harness.linkFromEmail('rosa@example.com', '/reset-password');
    const token = link.searchParams.get('token') ?? '';
    const browser = harness.client();
    // Opening the link twice spends nothing.
    await browser.get(link.pathname + link.search);
    const page = await browser.get(link.pathname + link.search);
    assert.match(page.body, /<input id="newPassword" name="newPassword" type="password" autocomplete="new-password"/);

    const done = await browser.submit('/reset-password', { token, newPassword: passwords.second });
    assert.equal(done.status, 303);
    assert.equal(done.headers.location, '/sign-in');
    assert.match((await browser.get('/sign-in')).body, /every device was signed out/);
    for (const id of signedIn) assert.equal(await sessionExists(harness.server, id), false);
    assert.equal((await phone.get('/account')).headers.location, '/sign-in');
    assert.equal((await laptop.api('GET', '/me')).status, 401);

    const reused = await browser.submit('/reset-password', { token, newPassword: passwords.third });
    assert.equal(reused.status, 400);
    assert.match(reused.body, /This link is not valid, has expired or was already used/);

    const oldPassword = harness.client();
    await oldPassword.get('/sign-in');
    assert.equal((await oldPassword.submit('/sign-in', { email: 'rosa@example.com', password: passwords.first })).status, 401);
    await harness.client().signIn('rosa@example.com', passwords.second);
  });

  it('refuses expired and forged links, and only the newest link works', async () => {
    await requestReset('rosa@example.com');
    const older = (await harness.linkFromEmail('rosa@example.com', '/reset-password')).link.searchParams.get('token') ?? '';
    await requestReset('rosa@example.com');
    const newer = (await harness.linkFromEmail('rosa@example.com', '/reset-password')).link.searchParams.get('token') ?? '';
    const client = harness.client();
    await client.get(`/reset-password?token=${newer}`);
    assert.equal((await client.submit('/reset-password', { token: older, newPassword: passwords.third })).status, 400);
    assert.equal((await client.submit('/reset-password', { token: 'B'.repeat(43), newPassword: passwords.third })).status, 400);
    const malformed = await client.submit('/reset-password', { token: 'not a token', newPassword: passwords.third });
    assert.equal(malformed.status, 400);
    assert.match(malformed.body, /This link is not valid/);
    await expireToken(harness.server, newer);
    assert.equal((await client.submit('/reset-password', { token: newer, newPassword: passwords.third })).status, 400);
    // None of these changed the password.
    await harness.client().signIn('rosa@example.com', passwords.second);
  });

  it('explains a refused new password next to the field', async () => {
    await requestReset('rosa@example.com');
    const token = (await harness.linkFromEmail('rosa@example.com', '/reset-password')).link.searchParams.get('token') ?? '';
    const client = harness.client();
    await client.get(`/reset-password?token=${token}`);
    const refused = await client.submit('/reset-password', { token, newPassword: 'short' });
    assert.equal(refused.status, 422);
    assert.match(refused.body, /<input id="newPassword"[^>]*aria-invalid="true"/);
    assert.match(refused.body, /id="newPassword-error">[^<]*15/);
  });

  it('sends a link-less visit to the request form', async () => {
    const answer = await harness.client().get('/reset-password');
    assert.equal(answer.status, 303);
    assert.equal(answer.headers.location, '/forgot-password');
  });
});
