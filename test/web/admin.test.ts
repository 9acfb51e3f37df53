// test/web/admin.test.ts
// /admin/users: administrators search and page through accounts, disable and enable them, end
// their sessions and send reset links; everyone else gets 403, logged and in the audit trail.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findUser, makeAdmin } from './support/database.js';
import { passwords, signUpAndVerify, startAccountsHarness, type AccountsHarness } from './support/harness.js';
import type { WebClient } from './support/client.js';
import { enrolTotpByPages } from '../mfa/support/web.js';

describe('admin users page', () => {
  let harness: AccountsHarness;
  let admin: WebClient;
  let victim: WebClient;
  before(async () => {
    harness = await startAccountsHarness();
    await signUpAndVerify(harness, 'root@example.com');
    await makeAdmin(harness.server, 'root@example.com');
    admin = harness.client();
    await admin.signIn('root@example.com', passwords.first);
    // Administrators must use a second factor (PORTCULLIS_MFA_REQUIRED=admin, the default).
    await enrolTotpByPages(admin);
    await signUpAndVerify(harness, 'target@example.com');
    victim = harness.client();
    await victim.signIn('target@example.com', passwords.first);
    // Enough accounts for three pages of 20, created straight through the domain to keep it quick.
    for (let index = 0; index < 45; index += 1) {
      await harness.server.server.accounts.createUser({ email: `bulk${String(index).padStart(2, '0')}@example.org`, password: passwords.second, role: 'user', emailVerified: true });
    }
  });
  after(async () => {
    await harness.close();
  });

  it('refuses anyone but an administrator with 403, logged and audited', async () => {
    const answer = await victim.get('/admin/users');
    assert.equal(answer.status, 403);
    assert.match(answer.body, /You are not allowed to do this\./);
    const target = await findUser(harness.server, 'target@example.com');
    const logged = harness.server.logs().find((line) => line.msg === 'authorization refused: administrators only' && line.userId === target?.id);
    assert.ok(logged, 'the refusal is logged');
    const audited = await harness.server.server.accounts.listActivity(target?.id ?? '', 10);
    assert.ok(audited.some((event) => event.type === 'authorization_denied' && event.outcome === 'failure'));
    // Actions too, not only the list.
    await victim.get('/account');
    const post = await victim.submit(`/admin/users/${target?.id ?? ''}/disable`, {});
    assert.equal(post.status, 403);
    // Anonymous visitors are sent to sign in.
    assert.equal((await harness.client().get('/admin/users')).headers.location, `/sign-in?return=${encodeURIComponent('/admin/users')}`);
  });

  it('searches and pages through accounts', async () => {
    const first = await admin.get('/admin/users');
    assert.equal(first.status, 200);
    assert.match(first.body, /47 accounts, page 1 of 3\./);
    assert.match(first.body, /<a href="\/admin\/users\?page=2">Next page<\/a>/);
    const last = await admin.get('/admin/users?page=3');
    assert.match(last.body, /page 3 of 3/);
    assert.match(last.body, /<a href="\/admin\/users\?page=2">Previous page<\/a>/);
    const found = await admin.get('/admin/users?q=target');
    assert.match(found.body, /1 account, page 1 of 1\./);
    assert.match(found.body, /target@example\.com/);
    assert.equal((await admin.get('/admin/users?page=0')).status, 400);
    assert.equal((await admin.get('/admin/users?page=1&page=2')).status, 400);
  });

  it('disables an account, which ends its sessions at once, and enables it again', async () => {
    const target = await findUser(harness.server, 'target@example.com');
    const id = target?.id ?? '';
    await admin.get('/admin/users?q=target');
    const disabled = await admin.submit(`/admin/users/${id}/disable`, { return: '/admin/users?q=target' });
    assert.equal(disabled.status, 303);
    assert.equal(disabled.headers.location, '/admin/users?q=target');
    assert.match((await admin.get('/admin/users?q=target')).body, /The account is disabled and signed out everywhere\./);
    assert.equal((await victim.get('/account')).headers.location, '/sign-in');
    const refused = harness.client();
    await refused.get('/sign-in');
    assert.equal((await refused.submit('/sign-in', { email: 'target@example.com', password: passwords.first })).status, 401);

    await admin.get('/admin/users?q=target');
    assert.equal((await admin.submit(`/admin/users/${id}/enable`, { return: '/admin/users?q=target' })).status, 303);
    victim = harness.client();
    await victim.signIn('target@example.com', passwords.first);
  });

  it('ends every session of an account and sends it a reset link', async () => {
    const id = (await findUser(harness.server, 'target@example.com'))?.id ?? '';
    await admin.get('/admin/users');
    assert.equal((await admin.submit(`/admin/users/${id}/end-sessions`, {})).status, 303);
    assert.match((await admin.get('/admin/users')).body, /One session was ended\./);
    assert.equal((await victim.api('GET', '/me')).status, 401);
    assert.equal((await admin.submit(`/admin/users/${id}/send-reset`, {})).status, 303);
    const { link } = await harness.linkFromEmail('target@example.com', '/reset-password');
    assert.match(link.searchParams.get('token') ?? '', /^[A-Za-z0-9_-]{43}$/);
  });

  it('never returns to a page outside the list, and does not let an admin disable themselves', async () => {
    const id = (await findUser(harness.server, 'target@example.com'))?.id ?? '';
    await admin.get('/admin/users');
    const away = await admin.submit(`/admin/users/${id}/send-reset`, { return: 'https://evil.example/' });
    assert.equal(away.headers.location, '/admin/users');
    const elsewhere = await admin.submit(`/admin/users/${id}/send-reset`, { return: '/account' });
    assert.equal(elsewhere.headers.location, '/admin/users');
    const self = (await findUser(harness.server, 'root@example.com'))?.id ?? '';
    const own = await admin.submit(`/admin/users/${self}/disable`, {});
    assert.equal(own.status, 303);
    assert.match((await admin.get('/admin/users')).body, /role="alert">You cannot disable or enable your own account\./);
    assert.equal((await findUser(harness.server, 'root@example.com'))?.disabled_at, null);
    const unknown = await admin.submit('/admin/users/00000000-0000-4000-8000-000000000000/disable', {});
    assert.equal(unknown.status, 303);
    assert.match((await admin.get('/admin/users')).body, /role="alert">Nothing was found at this address\./);
  });
});
