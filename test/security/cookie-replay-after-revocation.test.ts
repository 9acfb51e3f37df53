// test/security/cookie-replay-after-revocation.test.ts
// Threat: an attacker holds a copy of a signed-in session cookie. The owner ends that session
// (from the sessions list, "sign out everywhere else", a password change or reset, or an
// administrator ends or disables the account): the stolen cookie must stop working on its very
// next request. Nothing may cache the session; a request in flight must not write it back.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WebClient } from '../web/support/client.js';
import { findUser, makeAdmin, sessionExists } from '../web/support/database.js';
import { passwords, signUpAndVerify, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';
import { enrolTotpByApi } from '../mfa/support/web.js';

describe('replaying a session cookie after the session was revoked', () => {
  let harness: AccountsHarness;
  let admin: WebClient;
  let password: string = passwords.first;
  before(async () => {
    harness = await startAccountsHarness();
    await signUpAndVerify(harness, 'owner@example.com');
    await signUpAndVerify(harness, 'admin@example.com');
    await makeAdmin(harness.server, 'admin@example.com');
    admin = harness.client();
    await admin.signIn('admin@example.com', passwords.first);
    // Administrators must use a second factor (PORTCULLIS_MFA_REQUIRED=admin, the default).
    await enrolTotpByApi(admin);
  });
  after(async () => {
    await harness.close();
  });

  /** Owner signs in twice: one session stays with the owner, a copy of the other is stolen. */
  async function ownerAndThief(): Promise<{ owner: WebClient; thief: WebClient }> {
    const owner = harness.client();
    await owner.signIn('owner@example.com', password);
    const stolen = harness.client();
    await stolen.signIn('owner@example.com', password);
    const thief = harness.client();
    thief.sessionCookie = stolen.sessionCookie;
    // The copy works until the session is ended.
    assert.equal((await thief.api('GET', '/me')).status, 200);
    return { owner, thief };
  }

  async function assertDead(thief: WebClient): Promise<void> {
    const id = thief.hashedSessionId;
    assert.equal((await thief.api('GET', '/me')).status, 401, 'the very next API request is refused');
    assert.equal((await thief.get('/account')).headers.location, '/sign-in', 'and so is the next page');
    assert.equal(await sessionExists(harness.server, id), false);
  }

  it('from the sessions list', async () => {
    const { owner, thief } = await ownerAndThief();
    await owner.get('/account');
    assert.equal((await owner.submit(`/account/sessions/${thief.hashedSessionId ?? ''}/revoke`, {})).status, 303);
    await assertDead(thief);
  });

  it('through the API', async () => {
    const { owner, thief } = await ownerAndThief();
    assert.equal((await owner.api('DELETE', `/me/sessions/${thief.hashedSessionId ?? ''}`)).status, 204);
    await assertDead(thief);
  });

  it('by "sign out everywhere else"', async () => {
    const { owner, thief } = await ownerAndThief();
    await owner.get('/account');
    await owner.submit('/account/sessions/revoke-others', {});
    await assertDead(thief);
  });

  it('by a password change', async () => {
    const { owner, thief } = await ownerAndThief();
    await owner.get('/account');
    assert.equal((await owner.submit('/account/password', { currentPassword: password, newPassword: passwords.second })).status, 303);
    password = passwords.second;
    await assertDead(thief);
  });

  it('by a password reset', async () => {
    const { owner, thief } = await ownerAndThief();
    await owner.api('POST', '/auth/password/forgot', { email: 'owner@example.com' });
    const { link } = await harness.linkFromEmail('owner@example.com', '/reset-password');
    assert.equal((await harness.client().api('POST', '/auth/password/reset', { token: link.searchParams.get('token'), newPassword: passwords.third })).status, 204);
    password = passwords.third;
    await assertDead(thief);
    assert.equal((await owner.api('GET', '/me')).status, 401, 'a reset ends the owner\'s sessions too');
  });

  it('by an administrator ending the sessions, or disabling the account', async () => {
    const id = (await findUser(harness.server, 'owner@example.com'))?.id ?? '';
    const first = await ownerAndThief();
    await admin.get('/admin/users');
    await admin.submit(`/admin/users/${id}/end-sessions`, {});
    await assertDead(first.thief);

    const second = await ownerAndThief();
    await admin.get('/admin/users');
    await admin.submit(`/admin/users/${id}/disable`, {});
    await assertDead(second.thief);
    await admin.submit(`/admin/users/${id}/enable`, {});
  });

  it('even when the stolen session was busy with a request at the moment it was revoked', async () => {
    const { owner, thief } = await ownerAndThief();
    // Fire a slow-ish request with the stolen cookie and revoke while it runs: its end-of-request
    // session save must not bring the row back.
    const inFlight = Promise.all(Array.from({ length: 5 }, () => thief.api('PATCH', '/me', { displayName: 'Thief' })));
    await owner.api('DELETE', `/me/sessions/${thief.hashedSessionId ?? ''}`);
    await inFlight;
    await assertDead(thief);
  });
});
