// test/security/cookie-replay-after-sign-out.test.ts
// Threat: a session cookie copied from the victim's browser (malware, a shared computer, a proxy
// log) is replayed after the victim signed out. Sign-out ends the session on the server, so the
// copy opens nothing, through the pages or the API, and replaying it does not bring the session back.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sessionExists } from '../web/support/database.js';
import { passwords, signUpAndVerify, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';

describe('replaying a session cookie after sign-out', () => {
  let harness: AccountsHarness;
  before(async () => {
    harness = await startAccountsHarness();
    await signUpAndVerify(harness, 'owner@example.com');
  });
  after(async () => {
    await harness.close();
  });

  for (const how of ['the sign-out button', 'the API'] as const) {
    it(`finds the stolen cookie dead after sign-out through ${how}`, async () => {
      const victim = harness.client();
      await victim.signIn('owner@example.com', passwords.first);
      assert.equal((await victim.get('/account')).status, 200);
      const stolenCookie = victim.sessionCookie;
      const stolenId = victim.hashedSessionId;

      if (how === 'the API') assert.equal((await victim.api('POST', '/auth/sign-out')).status, 204);
      else assert.equal((await victim.submit('/sign-out', {})).status, 303);
      assert.equal(await sessionExists(harness.server, stolenId), false, 'the session row is gone');

      const thief = harness.client();
      thief.sessionCookie = stolenCookie;
      const page = await thief.get('/account');
      assert.equal(page.status, 303);
      assert.equal(page.headers.location, '/sign-in');
      const api = await thief.api('GET', '/me');
      assert.equal(api.status, 401);
      const sessions = await thief.api('GET', '/me/sessions');
      assert.equal(sessions.status, 401);
      // The replay neither revived the row nor created one under the stolen id.
      assert.equal(await sessionExists(harness.server, stolenId), false);
    });
  }
});
