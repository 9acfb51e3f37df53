// test/web/sign-in.test.ts
// Signing in and out through the pages: one answer for every kind of failure, a new session id
// at sign-in, the session gone from the server at sign-out, and passwords of any script and length.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { internalsPattern } from '../helpers/test-server.js';
import { sessionExists } from './support/database.js';
import { passwords, signUpAndVerify, startAccountsHarness, type AccountsHarness } from './support/harness.js';
import type { TestResponse } from '../helpers/https-client.js';

/** A page with what legitimately differs per answer (request id, form token) blanked. */
function comparable(response: TestResponse): string {
  return response.body.replace(/name="_csrf" value="[^"]+"/g, '').replace(/<code>[^<]+<\/code>/g, '');
}

describe('sign-in and sign-out pages', () => {
  let harness: AccountsHarness;
  before(async () => {
    harness = await startAccountsHarness();
    await signUpAndVerify(harness, 'mary@example.com', passwords.first);
    await signUpAndVerify(harness, 'off@example.com', passwords.first);
    await harness.server.server.db.updateTable('users').set({ disabled_at: Date.now() }).where('email', '=', 'off@example.com').execute();
  });
  after(async () => {
    await harness.close();
  });

  it('serves labelled fields with current-password autocompletion', async () => {
    const page = await harness.client().get('/sign-in');
    assert.match(page.body, /<input id="email" name="email" type="email" autocomplete="email"/);
    assert.match(page.body, /<input id="password" name="password" type="password" autocomplete="current-password"/);
  });

  it('answers an unknown email, a wrong password and a disabled account identically', async () => {
    const attempts = [
      { email: 'nobody@example.com', password: passwords.first },
      { email: 'mary@example.com', password: passwords.second },
      { email: 'off@example.com', password: passwords.first },
    ];
    const answers: TestResponse[] = [];
    for (const attempt of attempts) {
      const client = harness.client();
      await client.get('/sign-in');
      answers.push(await client.submit('/sign-in', { ...attempt, return: '/account' }));
      assert.equal((await client.api('GET', '/me')).status, 401);
    }
    for (const answer of answers) {
      assert.equal(answer.status, 401);
      assert.match(answer.body, /role="alert">The email address or password is not correct\./);
      assert.doesNotMatch(answer.body, internalsPattern);
    }
    // Identical apart from the email typed back into the form.
    const [unknown, wrong, disabled] = answers.map((answer) => comparable(answer).replace(/value="[^"]*@example\.com"/, ''));
    assert.equal(unknown, wrong);
    assert.equal(wrong, disabled);
  });

  it('gives the session a new id at sign-in and deletes the pre-sign-in one', async () => {
    const client = harness.client();
    await client.get('/sign-in');
    const anonymousId = client.hashedSessionId;
    assert.ok(await sessionExists(harness.server, anonymousId));
    const answer = await client.signIn('mary@example.com', passwords.first);
    assert.equal(answer.headers.location, '/account');
    assert.notEqual(client.hashedSessionId, anonymousId);
    assert.equal(await sessionExists(harness.server, anonymousId), false);
    const account = await client.get('/account');
    assert.equal(account.status, 200);
    assert.match(account.body, /Signed in as mary@example\.com/);
  });

  it('destroys the session on the server at sign-out', async () => {
    const client = harness.client();
    await client.signIn('mary@example.com', passwords.first);
    const signedIn = client.hashedSessionId;
    await client.get('/account');
    const out = await client.submit('/sign-out', {});
    assert.equal(out.status, 303);
    assert.equal(out.headers.location, '/');
    assert.equal(await sessionExists(harness.server, signedIn), false);
    assert.match((await client.get('/')).body, /You are signed out\./);
    const account = await client.get('/account');
    assert.equal(account.status, 303);
    assert.equal(account.headers.location, '/sign-in');
  });

  it('sends a visitor to sign in and back to the page they asked for', async () => {
    const client = harness.client();
    const asked = await client.get('/account');
    assert.equal(asked.headers.location, '/sign-in');
    const adminAsked = await client.get('/admin/users?q=ada&page=2');
    assert.equal(adminAsked.headers.location, `/sign-in?return=${encodeURIComponent('/admin/users?q=ada&page=2')}`);
    const page = await client.get(adminAsked.headers.location ?? '');
    assert.match(page.body, /name="return" value="\/admin\/users\?q=ada&amp;page=2"/);
    const answer = await client.submit('/sign-in', { email: 'mary@example.com', password: passwords.first, return: '/admin/users?q=ada&page=2' });
    assert.equal(answer.headers.location, '/admin/users?q=ada&page=2');
  });

  it('accepts Unicode and 200-character passwords, each character significant', async () => {
    for (const [email, password] of [
      ['unicode@example.com', passwords.unicode],
      ['long@example.com', passwords.long],
    ] as const) {
      await signUpAndVerify(harness, email, password);
      const client = harness.client();
      await client.signIn(email, password);
      assert.equal((await client.get('/account')).status, 200);
      // Change only the last character: past bcrypt's 72 bytes, it must still matter.
      const altered = `${password.slice(0, -1)}${password.endsWith('x') ? 'y' : 'x'}`;
      const wrong = harness.client();
      await wrong.get('/sign-in');
      assert.equal((await wrong.submit('/sign-in', { email, password: altered, return: '/account' })).status, 401);
    }
    // NFKC: the same password typed with a composed or a decomposed "é" is the same password.
    const decomposed = passwords.unicode.normalize('NFD');
    assert.notEqual(decomposed, passwords.unicode);
    const client = harness.client();
    await client.signIn('unicode@example.com', decomposed);
  });
});
