// test/security/session-fixation.test.ts
// Threat: session fixation. The attacker gets a session id of their own choosing into the victim's
// browser (a planted cookie) and waits for the victim to sign in with it. The id changes at sign-in,
// so the planted one stays anonymous; made-up or unsigned ids are never adopted at all.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sessionExists } from '../web/support/database.js';
import { passwords, signUpAndVerify, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';

describe('session fixation', () => {
  let harness: AccountsHarness;
  before(async () => {
    harness = await startAccountsHarness();
    await signUpAndVerify(harness, 'victim@example.com');
  });
  after(async () => {
    await harness.close();
  });

  it('never promotes a planted pre-sign-in session to a signed-in one', async () => {
    const attacker = harness.client();
    await attacker.get('/sign-in');
    const planted = attacker.sessionCookie;
    assert.ok(planted);

    const victim = harness.client();
    victim.sessionCookie = planted;
    await victim.get('/sign-in');
    await victim.submit('/sign-in', { email: 'victim@example.com', password: passwords.first });
    assert.notEqual(victim.sessionCookie, planted);
    assert.equal((await victim.api('GET', '/me')).status, 200);

    // The attacker's copy is not signed in, and its row is gone.
    assert.equal((await attacker.api('GET', '/me')).status, 401);
    assert.equal(await sessionExists(harness.server, attacker.hashedSessionId), false);
  });

  it('does not adopt an id the attacker made up, signed or not', async () => {
    for (const madeUp of ['attacker-chosen-id', 's%3Aattacker-chosen-id.forgedsignature', `s%3A${'A'.repeat(43)}.${'B'.repeat(43)}`]) {
      const victim = harness.client();
      victim.sessionCookie = madeUp;
      await victim.get('/sign-in');
      assert.notEqual(victim.sessionCookie, madeUp, 'a new cookie replaces the made-up one');
      await victim.submit('/sign-in', { email: 'victim@example.com', password: passwords.first });
      const replay = harness.client();
      replay.sessionCookie = madeUp;
      assert.equal((await replay.api('GET', '/me')).status, 401);
    }
  });
});
