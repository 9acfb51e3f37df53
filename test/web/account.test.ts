// test/web/account.test.ts
// The account page: profile, email and password changes behind a fresh password proof, the
// sessions list with readable devices and working revoke buttons, activity, and deletion.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ageReauthentication, countRows, findUser, sessionExists } from './support/database.js';
import { passwords, signUpAndVerify, startAccountsHarness, type AccountsHarness } from './support/harness.js';

const firefoxOnWindows = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
const elevenMinutes = 11 * 60_000;

describe('account page', () => {
  let harness: AccountsHarness;
  before(async () => {
    harness = await startAccountsHarness();
  });
  after(async () => {
    await harness.close();
  });

  it('lists every session with device, IP and times, the current one marked, and revokes another', async () => {
    await signUpAndVerify(harness, 'sam@example.com');
    const here = harness.client();
    await here.signIn('sam@example.com', passwords.first);
    const there = harness.client({ userAgent: firefoxOnWindows });
    await there.signIn('sam@example.com', passwords.first);

    const page = await here.get('/account');
    assert.match(page.body, /Chrome 126 on Linux<span class="badge ok">this device<\/span>/);
    assert.match(page.body, /Firefox 128 on Windows 10/);
    assert.match(page.body, /<td>127\.0\.0\.1<\/td>/);
    assert.match(page.body, /<time datetime="\d{4}-\d\d-\d\dT/);
    assert.ok(page.body.includes(`action="/account/sessions/${there.hashedSessionId ?? ''}/revoke"`));
    assert.ok(!page.body.includes(`action="/account/sessions/${here.hashedSessionId ?? ''}/revoke"`));

    const revoked = await here.submit(`/account/sessions/${there.hashedSessionId ?? ''}/revoke`, {});
    assert.equal(revoked.status, 303);
    // The very next request of the revoked session finds it gone.
    assert.equal((await there.get('/account')).headers.location, '/sign-in');
    const after = await here.get('/account');
    assert.match(after.body, /That session is signed out\./);
    assert.match(after.body, /Another session was signed out/);
    assert.doesNotMatch(after.body, /Firefox 128/);
  });

  it('signs out everywhere else and keeps this session', async () => {
    await signUpAndVerify(harness, 'kim@example.com');
    const here = harness.client();
    await here.signIn('kim@example.com', passwords.first);
    const others = [harness.client(), harness.client()];
    for (const other of others) await other.signIn('kim@example.com', passwords.first);
    await here.get('/account');
    const answer = await here.submit('/account/sessions/revoke-others', {});
    assert.equal(answer.status, 303);
    for (const other of others) assert.equal((await other.api('GET', '/me')).status, 401);
    const page = await here.get('/account');
    assert.equal(page.status, 200);
    assert.match(page.body, /2 other sessions were signed out\./);
    assert.match(page.body, /You are not signed in anywhere else\./);
  });

  it('saves the display name with Post/Redirect/Get and escapes it', async () => {
    await signUpAndVerify(harness, 'eve@example.com');
    const client = harness.client();
    await client.signIn('eve@example.com', passwords.first);
    await client.get('/account');
    const saved = await client.submit('/account/profile', { displayName: '<b>Eve</b> & co' });
    assert.equal(saved.status, 303);
    assert.equal(saved.headers.location, '/account');
    const page = await client.get('/account');
    assert.match(page.body, /Your name is saved\./);
    assert.match(page.body, /Signed in as &lt;b>Eve&lt;\/b> &amp; co\./);
    // The notice is shown once.
    assert.doesNotMatch((await client.get('/account')).body, /Your name is saved\./);
  });

  it('asks for the password again after 10 minutes, then returns to the account page', async () => {
    await signUpAndVerify(harness, 'ren@example.com');
    const client = harness.client();
    await client.signIn('ren@example.com', passwords.first);
    await client.get('/account');
    await ageReauthentication(harness.server, client.hashedSessionId ?? '', elevenMinutes);

    const page = await client.get('/account');
    assert.match(page.body, /To change your password, first <a href="\/reauthenticate">confirm your password<\/a>/);
    assert.doesNotMatch(page.body, /name="currentPassword"/);
    const refused = await client.submit('/account/password', { currentPassword: passwords.first, newPassword: passwords.second });
    assert.equal(refused.status, 303);
    assert.equal(refused.headers.location, '/reauthenticate');

    const reauth = await client.get('/reauthenticate');
    assert.match(reauth.body, /For your security, confirm your password to continue\./);
    assert.match(reauth.body, /autocomplete="current-password"/);
    const wrong = await client.submit('/reauthenticate', { password: passwords.second, return: '/account' });
    assert.equal(wrong.status, 401);
    const before = client.sessionId;
    const confirmed = await client.submit('/reauthenticate', { password: passwords.first, return: '/account' });
    assert.equal(confirmed.status, 303);
    assert.equal(confirmed.headers.location, '/account');
    assert.notEqual(client.sessionId, before, 're-authentication gives a new session id');
    assert.match((await client.get('/account')).body, /name="currentPassword"/);
  });

  it('changes the password, ends every other session and keeps this one under a new id', async () => {
    await signUpAndVerify(harness, 'ines@example.com');
    const here = harness.client();
    await here.signIn('ines@example.com', passwords.first);
    const other = harness.client();
    await other.signIn('ines@example.com', passwords.first);
    await here.get('/account');
    const wrongCurrent = await here.submit('/account/password', { currentPassword: passwords.third, newPassword: passwords.second });
    assert.equal(wrongCurrent.status, 401);
    assert.match(wrongCurrent.body, /role="alert">The email address or password is not correct\./);
    const idBefore = here.hashedSessionId;
    const changed = await here.submit('/account/password', { currentPassword: passwords.first, newPassword: passwords.second });
    assert.equal(changed.status, 303);
    assert.notEqual(here.hashedSessionId, idBefore);
    assert.equal(await sessionExists(harness.server, idBefore), false);
    assert.equal((await other.api('GET', '/me')).status, 401);
    const page = await here.get('/account');
    assert.equal(page.status, 200);
    assert.match(page.body, /Your password is changed\. Every other device was signed out\./);
    assert.match(page.body, /Password changed/);
  });

  it('changes the email address once the link sent to the new address is followed', async () => {
    await signUpAndVerify(harness, 'old@example.com');
    const client = harness.client();
    await client.signIn('old@example.com', passwords.first);
    await client.get('/account');
    const requested = await client.submit('/account/email', { email: 'new@example.com' });
    assert.equal(requested.status, 303);
    const { link } = await harness.linkFromEmail('new@example.com', '/verify-email');
    await client.get(link.pathname + link.search);
    const confirmed = await client.submit('/verify-email', { token: link.searchParams.get('token') ?? '' });
    assert.equal(confirmed.status, 303);
    assert.match((await client.get('/account')).body, /<strong>new@example\.com<\/strong>/);
  });

  it('deletes the account after a fresh proof and a tick, and removes its rows', async () => {
    await signUpAndVerify(harness, 'del@example.com');
    const client = harness.client();
    await client.signIn('del@example.com', passwords.first);
    const other = harness.client();
    await other.signIn('del@example.com', passwords.first);
    await client.get('/account');
    const unticked = await client.submit('/account/delete', {});
    assert.equal(unticked.status, 400);
    assert.match(unticked.body, /id="delete-confirm-error">Tick the box to confirm\./);
    const user = await findUser(harness.server, 'del@example.com');
    assert.ok(user);
    const deleted = await client.submit('/account/delete', { confirm: 'yes' });
    assert.equal(deleted.status, 303);
    assert.equal(deleted.headers.location, '/');
    assert.match((await client.get('/')).body, /Your account and its data are deleted\./);
    assert.equal(await findUser(harness.server, 'del@example.com'), undefined);
    assert.equal(await harness.server.sessions.countForUser(user.id), 0);
    assert.equal((await other.api('GET', '/me')).status, 401);
    const signIn = harness.client();
    await signIn.get('/sign-in');
    assert.equal((await signIn.submit('/sign-in', { email: 'del@example.com', password: passwords.first })).status, 401);
    assert.ok((await countRows(harness.server)).users >= 1);
  });
});
