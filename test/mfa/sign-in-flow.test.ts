// test/mfa/sign-in-flow.test.ts
// Signing in to an account with a second factor, through the pages and the JSON API: a correct
// password opens a pending session (a new id, no user in it) that reaches nothing but the
// second-factor step and lasts five minutes; a TOTP code or a recovery code then regenerates the
// session id and signs in. A password reset does not skip the second factor, and a pending
// session cannot be finished once the password has changed under it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isAuthPath } from '../../src/security/rate-limit.js';
import { errorOf, type WebClient } from '../web/support/client.js';
import { passwords, signedInUser, signUpAndVerify, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';
import { editSession, enrolTotpByApi, expectStatus, nextTotpCode, sessionData, wrongTotpCode } from './support/web.js';

describe('signing in with a second factor', () => {
  let harness: AccountsHarness;
  let secret: string;
  let recoveryCodes: string[];
  const email = 'two-step@example.com';
  before(async () => {
    harness = await startAccountsHarness();
    const owner = await signedInUser(harness, email);
    ({ secret, recoveryCodes } = await enrolTotpByApi(owner));
  });
  after(async () => {
    await harness.close();
  });

  const pagePassword = async (client: WebClient, returnTo = '/account') => {
    await client.get('/sign-in');
    return client.submit('/sign-in', { email, password: passwords.first, return: returnTo });
  };

  it('after the password, gives a pending session that reaches nothing but the second-factor page', async () => {
    const client = harness.client();
    await client.get('/sign-in');
    const anonymousId = client.sessionId;
    const answer = await pagePassword(client);
    assert.equal(answer.status, 303);
    assert.equal(answer.headers.location, '/second-factor');
    assert.notEqual(client.sessionId, anonymousId, 'a new session id once the password is accepted');
    const stored = await sessionData(harness.server, client.hashedSessionId);
    assert.equal(stored?.userId, undefined, 'the pending session holds no user');
    // Nothing that needs a user: pages send to sign-in, the API says 401.
    assert.equal((await client.get('/account')).headers.location, '/sign-in');
    assert.match(String((await client.get('/account/mfa')).headers.location), /^\/sign-in/);
    assert.equal((await client.api('GET', '/me')).status, 401);
    assert.equal((await client.api('GET', '/me/mfa')).status, 401);
    assert.equal((await client.api('GET', '/me/sessions')).status, 401);
    const page = await client.get('/second-factor');
    assert.equal(page.status, 200);
    assert.match(page.body, /Your password is correct/);
    assert.match(page.body, /autocomplete="one-time-code"/);
    assert.match(page.body, /Use a recovery code instead/);
  });

  it('answers a wrong code with 401 on the same page, then signs in with a right one and a new session id', async () => {
    const client = harness.client();
    await pagePassword(client, '/account/mfa');
    await client.get('/second-factor');
    const wrong = await client.submit('/second-factor/totp', { code: wrongTotpCode(secret) });
    assert.equal(wrong.status, 401);
    assert.match(wrong.body, /That code is not correct or was already used/);
    const pendingId = client.sessionId;
    const right = await client.submit('/second-factor/totp', { code: await nextTotpCode(secret) });
    assert.equal(right.status, 303);
    assert.equal(right.headers.location, '/account/mfa', 'back to the page asked for before signing in');
    assert.notEqual(client.sessionId, pendingId, 'the id changes again with the second factor');
    const stored = await sessionData(harness.server, client.hashedSessionId);
    assert.ok(typeof stored?.userId === 'string');
    assert.ok(typeof stored.secondFactorAt === 'number');
    assert.equal(stored.pendingSignIn, undefined);
    assert.equal((await client.get('/account')).status, 200);
    assert.equal((await client.api('GET', '/me')).status, 200);
  });

  it('signs in with a recovery code once; the same code then fails', async () => {
    const code = recoveryCodes[0] ?? '';
    const client = harness.client();
    await pagePassword(client);
    await client.get('/second-factor');
    const used = await client.submit('/second-factor/recovery', { code: code.toLowerCase() });
    assert.equal(used.status, 303);
    assert.equal((await client.get('/account')).status, 200);
    assert.match((await client.get('/account')).body, /<strong>9<\/strong> of 10 recovery codes left/);
    const again = harness.client();
    await pagePassword(again);
    await again.get('/second-factor');
    const reused = await again.submit('/second-factor/recovery', { code });
    assert.equal(reused.status, 401);
    assert.equal((await again.api('GET', '/me')).status, 401);
  });

  it('ends the pending state after five minutes', async () => {
    const client = harness.client();
    await pagePassword(client);
    // The page's form (and its token) was loaded in time; the code comes too late.
    await client.get('/second-factor');
    await editSession(harness.server, client.hashedSessionId, (data) => {
      if (data.pendingSignIn !== undefined) data.pendingSignIn.startedAt -= 5 * 60_000 + 1_000;
    });
    // The pending state is checked before the code is: any code gets the same redirect.
    const late = await client.submit('/second-factor/totp', { code: wrongTotpCode(secret) });
    assert.equal(late.status, 303);
    assert.equal(late.headers.location, '/sign-in');
    const page = await client.get('/second-factor');
    assert.equal(page.status, 303);
    assert.equal(page.headers.location, '/sign-in');
    assert.equal((await client.api('GET', '/me')).status, 401);
  });

  it('through the API: answers mfaRequired with the methods, 401 on /me while pending, then signs in', async () => {
    const apiEmail = 'api-two-step@example.com';
    const apiSecret = (await enrolTotpByApi(await signedInUser(harness, apiEmail))).secret;
    const client = harness.client();
    const first = await client.api('POST', '/auth/sign-in', { email: apiEmail, password: passwords.first });
    assert.equal(first.status, 200);
    assert.deepEqual(first.json(), { mfaRequired: true, methods: ['totp', 'recovery'] });
    assert.equal((await client.api('GET', '/me')).status, 401);
    const wrong = await client.api('POST', '/auth/mfa/totp', { code: wrongTotpCode(apiSecret) });
    assert.equal(wrong.status, 401);
    assert.equal(errorOf(wrong).code, 'MFA_CODE_INVALID');
    const pendingId = client.sessionId;
    const done = await client.api('POST', '/auth/mfa/totp', { code: await nextTotpCode(apiSecret) });
    assert.equal(done.status, 200);
    assert.equal((done.json() as { user: { email: string } }).user.email, apiEmail);
    assert.notEqual(client.sessionId, pendingId);
    assert.equal((await client.api('GET', '/me')).status, 200);
  });

  it('through the API: a recovery code finishes the sign-in and says how many are left', async () => {
    const client = harness.client();
    await client.api('POST', '/auth/sign-in', { email, password: passwords.first });
    const done = await client.api('POST', '/auth/mfa/recovery', { code: recoveryCodes[1] });
    assert.equal(done.status, 200);
    assert.equal((done.json() as { recoveryCodesRemaining: number }).recoveryCodesRemaining, 8);
    const other = harness.client();
    await other.api('POST', '/auth/sign-in', { email, password: passwords.first });
    assert.equal((await other.api('POST', '/auth/mfa/recovery', { code: recoveryCodes[1] })).status, 401, 'spent');
  });

  it('counts the second-factor posts against the authentication rate limit', () => {
    for (const path of ['/second-factor/totp', '/second-factor/recovery', '/api/v1/auth/mfa/totp', '/api/v1/auth/mfa/recovery', '/api/v1/auth/mfa/passkey', '/api/v1/auth/passkey']) assert.ok(isAuthPath(path), path);
  });

  it('refuses the second-factor routes to a session that gave no password', async () => {
    const client = harness.client();
    assert.equal(errorOf(await client.api('POST', '/auth/mfa/totp', { code: '123456' })).code, 'UNAUTHENTICATED');
    assert.equal(errorOf(await client.api('POST', '/auth/mfa/recovery', { code: 'ABCDE-FGHJK' })).code, 'UNAUTHENTICATED');
    assert.equal((await client.get('/second-factor')).headers.location, '/sign-in');
  });

  it('never lets a password reset skip the second factor, and ends pending sign-ins of the old password', async () => {
    const early = harness.client();
    await pagePassword(early);
    await early.get('/second-factor');
    // A reset by email link.
    const client = harness.client();
    await client.get('/forgot-password');
    await client.submit('/forgot-password', { email });
    const { link } = await harness.linkFromEmail(email, '/reset-password');
    await client.get(link.pathname + link.search);
    const reset = await client.submit('/reset-password', { token: link.searchParams.get('token') ?? '', newPassword: passwords.second });
    assert.equal(reset.status, 303);
    assert.equal((await client.api('GET', '/me')).status, 401, 'the reset signed nobody in');
    // The new password still leads to the second factor, on the pages and in the API.
    await client.get('/sign-in');
    const again = await client.submit('/sign-in', { email, password: passwords.second, return: '/account' });
    assert.equal(again.headers.location, '/second-factor');
    assert.equal((await client.api('GET', '/me')).status, 401);
    const api = await harness.client().api('POST', '/auth/sign-in', { email, password: passwords.second });
    assert.equal((api.json() as { mfaRequired?: boolean }).mfaRequired, true);
    // A sign-in pending from before the reset cannot be finished, even with a right code.
    const stale = await early.submit('/second-factor/totp', { code: wrongTotpCode(secret) });
    assert.equal(stale.headers.location, '/sign-in');
    assert.equal((await early.api('GET', '/me')).status, 401);
    // And with the second factor, the new password signs in.
    const finished = harness.client();
    await finished.api('POST', '/auth/sign-in', { email, password: passwords.second });
    assert.equal((await finished.api('POST', '/auth/mfa/recovery', { code: recoveryCodes[2] })).status, 200);
    assert.equal((await finished.api('GET', '/me')).status, 200);
  });

  it('leaves accounts without a second factor signing in as before', async () => {
    await signUpAndVerify(harness, 'plain@example.com');
    const client = harness.client();
    const answer = expectStatus(await client.api('POST', '/auth/sign-in', { email: 'plain@example.com', password: passwords.first }), 200, 'sign-in');
    assert.equal((answer.json() as { user: { email: string } }).user.email, 'plain@example.com');
    assert.equal((answer.json() as { mfaEnrolmentRequired?: boolean }).mfaEnrolmentRequired, undefined);
    assert.equal((await client.api('GET', '/me')).status, 200);
  });

  it('records every second-factor attempt in the account\'s activity', async () => {
    const user = await harness.server.server.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow();
    const events = await harness.server.server.accounts.listActivity(user.id, 200);
    const attempts = events.filter((event) => event.type === 'second_factor');
    assert.ok(attempts.some((event) => event.outcome === 'failure' && event.detail?.reason === 'wrong_code'));
    assert.ok(attempts.some((event) => event.outcome === 'success' && event.detail?.method === 'totp'));
    assert.ok(attempts.some((event) => event.outcome === 'success' && event.detail?.method === 'recovery_code'));
    for (const event of attempts) assert.ok(event.ip !== null, 'with where from');
  });
});
