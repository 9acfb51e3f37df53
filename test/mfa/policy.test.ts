// test/mfa/policy.test.ts
// PORTCULLIS_MFA_REQUIRED: admin (the default), all or none. An account the policy covers and
// that has no second factor is taken to enrolment after signing in and reaches nothing else
// (pages redirect there, the API answers MFA_ENROLMENT_REQUIRED): in particular an administrator
// without a second factor cannot reach the admin page. Once enrolled, it cannot remove its last
// factor.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { errorOf } from '../web/support/client.js';
import { makeAdmin } from '../web/support/database.js';
import { passwords, signedInUser, signUpAndVerify, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';
import { enrolTotpByPages, expectStatus, pageSignInWithTotp } from './support/web.js';

describe('who must use a second factor', () => {
  describe('by default, administrators', () => {
    let harness: AccountsHarness;
    before(async () => {
      harness = await startAccountsHarness();
    });
    after(async () => {
      await harness.close();
    });

    it('takes an administrator without a second factor to enrolment, and keeps the admin page shut', async () => {
      await signUpAndVerify(harness, 'boss@example.com');
      await makeAdmin(harness.server, 'boss@example.com');
      const admin = harness.client();
      await admin.signIn('boss@example.com', passwords.first);
      for (const path of ['/admin/users', '/account', '/']) {
        const answer = await admin.get(path);
        assert.equal(answer.status, 303, path);
        assert.equal(answer.headers.location, '/account/mfa', path);
      }
      const settings = await admin.get('/account/mfa');
      assert.equal(settings.status, 200);
      assert.match(settings.body, /Your account must use two-step verification/);
      const me = await admin.api('GET', '/me');
      assert.equal(me.status, 403);
      assert.equal(errorOf(me).code, 'MFA_ENROLMENT_REQUIRED');
      assert.equal(errorOf(await admin.api('GET', '/me/sessions')).code, 'MFA_ENROLMENT_REQUIRED');
      assert.equal((await admin.api('GET', '/me/mfa')).status, 200, 'enrolment itself stays open');
      const refusal = harness.server.logs().find((line) => line.msg === 'second factor required before anything else');
      assert.ok(refusal);
      // The API says so at sign-in.
      const api = await harness.client().api('POST', '/auth/sign-in', { email: 'boss@example.com', password: passwords.first });
      assert.equal((api.json() as { mfaEnrolmentRequired?: boolean }).mfaEnrolmentRequired, true);

      const { secret } = await enrolTotpByPages(admin);
      assert.equal((await admin.get('/admin/users')).status, 200, 'enrolled: the admin page opens');
      assert.equal((await admin.api('GET', '/me')).status, 200);

      // Next time, the password alone does not open it either.
      const again = harness.client();
      await again.signIn('boss@example.com', passwords.first);
      assert.match(String((await again.get('/admin/users')).headers.location), /^\/sign-in/);
      expectStatus(await pageSignInWithTotp(harness.client(), 'boss@example.com', passwords.first, secret), 303, 'sign-in with TOTP');
    });

    it('refuses to remove an administrator\'s last second factor', async () => {
      await signUpAndVerify(harness, 'chief@example.com');
      await makeAdmin(harness.server, 'chief@example.com');
      const admin = harness.client();
      await admin.signIn('chief@example.com', passwords.first);
      await enrolTotpByPages(admin);
      await admin.get('/account/mfa');
      const refused = await admin.submit('/account/mfa/totp/remove', {});
      assert.equal(refused.status, 409);
      assert.match(refused.body, /Your account must keep two-step verification/);
      assert.equal(errorOf(await admin.api('DELETE', '/me/mfa/totp')).code, 'MFA_LAST_METHOD');
      assert.match((await admin.get('/account/mfa')).body, /is <strong>on<\/strong>/);
    });

    it('leaves ordinary accounts free to choose, and lets a forced account sign out', async () => {
      const user = await signedInUser(harness, 'member@example.com');
      assert.equal((await user.get('/account')).status, 200);
      assert.equal((await user.api('GET', '/me')).status, 200);
      await signUpAndVerify(harness, 'new-admin@example.com');
      await makeAdmin(harness.server, 'new-admin@example.com');
      const admin = harness.client();
      await admin.signIn('new-admin@example.com', passwords.first);
      await admin.get('/account/mfa');
      const out = await admin.submit('/sign-out', {});
      assert.equal(out.status, 303);
      assert.equal(out.headers.location, '/');
    });
  });

  describe('PORTCULLIS_MFA_REQUIRED=all', () => {
    let harness: AccountsHarness;
    before(async () => {
      harness = await startAccountsHarness({ PORTCULLIS_MFA_REQUIRED: 'all' });
    });
    after(async () => {
      await harness.close();
    });

    it('takes every account without a second factor to enrolment', async () => {
      const user = await signedInUser(harness, 'everyone@example.com');
      assert.equal((await user.get('/account')).headers.location, '/account/mfa');
      assert.equal(errorOf(await user.api('PATCH', '/me', { displayName: 'x' })).code, 'MFA_ENROLMENT_REQUIRED');
      await enrolTotpByPages(user);
      assert.equal((await user.get('/account')).status, 200);
    });
  });

  describe('PORTCULLIS_MFA_REQUIRED=none', () => {
    let harness: AccountsHarness;
    before(async () => {
      harness = await startAccountsHarness({ PORTCULLIS_MFA_REQUIRED: 'none' });
    });
    after(async () => {
      await harness.close();
    });

    it('requires it of nobody, administrators included', async () => {
      await signUpAndVerify(harness, 'relaxed@example.com');
      await makeAdmin(harness.server, 'relaxed@example.com');
      const admin = harness.client();
      await admin.signIn('relaxed@example.com', passwords.first);
      assert.equal((await admin.get('/admin/users')).status, 200);
    });
  });
});
