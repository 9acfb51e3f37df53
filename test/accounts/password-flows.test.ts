// test/accounts/password-flows.test.ts
// Changing a password (the current one is required), password reset by emailed single-use link
// (30 minutes, one live link per account, the same answer for unknown emails), changing the
// email address, and deleting the account.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { codeOf, createHarness, createVerifiedUser, meta, otherStrongPassword, strongPassword, type Harness } from './harness.js';

const thirdPassword = 'amber lantern glacier 31 violin';

describe('changing the password', () => {
  let h: Harness;
  let userId: string;
  before(async () => {
    h = await createHarness();
    userId = await createVerifiedUser(h, 'alan@example.com', strongPassword, 'Alan');
  });
  after(async () => {
    await h.close();
  });

  it('refuses a wrong current password, saying so on the currentPassword field', async () => {
    const refused = await codeOf(() => h.service.changePassword(userId, { currentPassword: otherStrongPassword, newPassword: thirdPassword }, meta));
    assert.equal(refused.code, 'INVALID_CREDENTIALS');
    assert.ok(refused.fields?.currentPassword !== undefined);
  });

  it('refuses a weak new password on the newPassword field, with the reason and the fix', async () => {
    const refused = await codeOf(() => h.service.changePassword(userId, { currentPassword: strongPassword, newPassword: 'alan@example.com rocks' }, meta));
    assert.equal(refused.code, 'PASSWORD_REJECTED');
    assert.match(refused.fields?.newPassword ?? '', /email address.*Choose/);
  });

  it('changes it: the old password stops working, the owner is told, and a pending reset link dies', async () => {
    await h.service.requestPasswordReset('alan@example.com', meta);
    const resetToken = h.mail.tokenFor('alan@example.com', '/reset-password');
    const before = (await h.service.getUser(userId))?.passwordChangedAt ?? 0;
    h.advance(1_000);
    await h.service.changePassword(userId, { currentPassword: strongPassword, newPassword: otherStrongPassword }, meta);
    assert.ok(((await h.service.getUser(userId))?.passwordChangedAt ?? 0) > before);
    assert.equal((await codeOf(() => h.service.signIn({ email: 'alan@example.com', password: strongPassword }, meta))).code, 'INVALID_CREDENTIALS');
    await h.service.signIn({ email: 'alan@example.com', password: otherStrongPassword }, meta);
    assert.match(h.mail.to('alan@example.com').at(-1)?.subject ?? '', /password was changed/);
    assert.equal((await codeOf(() => h.service.resetPassword({ token: resetToken, newPassword: thirdPassword }, meta))).code, 'TOKEN_INVALID');
  });
});

describe('password reset', () => {
  let h: Harness;
  let userId: string;
  before(async () => {
    h = await createHarness();
    userId = await createVerifiedUser(h, 'barbara@example.com', strongPassword, 'Barbara');
  });
  after(async () => {
    await h.close();
  });

  it('answers an unknown email exactly as a known one, and sends nothing', async () => {
    const sent = h.mail.sent.length;
    await h.service.requestPasswordReset('nobody@example.com', meta);
    await h.service.requestPasswordReset('not an address', meta);
    await h.service.requestPasswordReset(42 as unknown as string, meta);
    assert.equal(h.mail.sent.length, sent);
    await h.service.requestPasswordReset('BARBARA@example.com', meta);
    assert.equal(h.mail.sent.length, sent + 1);
  });

  it('keeps one live link per account: a new request kills the previous link', async () => {
    const first = h.mail.tokenFor('barbara@example.com', '/reset-password');
    await h.service.requestPasswordReset('barbara@example.com', meta);
    const second = h.mail.tokenFor('barbara@example.com', '/reset-password');
    assert.notEqual(first, second);
    assert.equal((await codeOf(() => h.service.resetPassword({ token: first, newPassword: otherStrongPassword }, meta))).code, 'TOKEN_INVALID');
    const live = await h.db.selectFrom('one_time_tokens').select('token_hash').where('user_id', '=', userId).where('purpose', '=', 'reset_password').where('used_at', 'is', null).execute();
    assert.equal(live.length, 1);
  });

  it('keeps the link usable when the new password is refused', async () => {
    const token = h.mail.tokenFor('barbara@example.com', '/reset-password');
    const refused = await codeOf(() => h.service.resetPassword({ token, newPassword: 'too short' }, meta));
    assert.equal(refused.code, 'PASSWORD_REJECTED');
    assert.match(refused.fields?.newPassword ?? '', /at least 15/);
    const user = await h.service.resetPassword({ token, newPassword: otherStrongPassword }, meta);
    assert.equal(user.id, userId);
    await h.service.signIn({ email: 'barbara@example.com', password: otherStrongPassword }, meta);
    assert.equal((await codeOf(() => h.service.signIn({ email: 'barbara@example.com', password: strongPassword }, meta))).code, 'INVALID_CREDENTIALS');
    assert.match(h.mail.to('barbara@example.com').at(-1)?.subject ?? '', /password was reset/);
  });

  it('works once: a replayed link is refused', async () => {
    await h.service.requestPasswordReset('barbara@example.com', meta);
    const token = h.mail.tokenFor('barbara@example.com', '/reset-password');
    await h.service.resetPassword({ token, newPassword: thirdPassword }, meta);
    assert.equal((await codeOf(() => h.service.resetPassword({ token, newPassword: strongPassword }, meta))).code, 'TOKEN_INVALID');
  });

  it('lets only one of two simultaneous uses of a link through', async () => {
    await h.service.requestPasswordReset('barbara@example.com', meta);
    const token = h.mail.tokenFor('barbara@example.com', '/reset-password');
    const results = await Promise.allSettled([
      h.service.resetPassword({ token, newPassword: strongPassword }, meta),
      h.service.resetPassword({ token, newPassword: otherStrongPassword }, meta),
    ]);
    assert.deepEqual(results.map((result) => result.status).sort(), ['fulfilled', 'rejected']);
  });

  it('expires after 30 minutes', async () => {
    await h.service.requestPasswordReset('barbara@example.com', meta);
    const token = h.mail.tokenFor('barbara@example.com', '/reset-password');
    h.advance(30 * 60_000 + 1);
    assert.equal((await codeOf(() => h.service.resetPassword({ token, newPassword: thirdPassword }, meta))).code, 'TOKEN_INVALID');
  });

  it('refuses forged and malformed tokens', async () => {
    for (const token of ['', 'A'.repeat(43), 'Z'.repeat(43), '%00', 'x'.repeat(50_000), 5, undefined]) {
      assert.equal((await codeOf(() => h.service.resetPassword({ token: token as string, newPassword: thirdPassword }, meta))).code, 'TOKEN_INVALID');
    }
  });

  it('verifies the email address of an account whose owner followed a reset link', async () => {
    await h.service.signUp({ email: 'unverified@example.com', password: strongPassword }, meta);
    await h.service.requestPasswordReset('unverified@example.com', meta);
    const user = await h.service.resetPassword({ token: h.mail.tokenFor('unverified@example.com', '/reset-password'), newPassword: otherStrongPassword }, meta);
    assert.equal(user.emailVerified, true);
  });

  it('audits requests and completions', async () => {
    const types = await h.db.selectFrom('audit_events').select(['type', 'outcome']).where('type', 'like', 'password_reset%').execute();
    assert.ok(types.some((event) => event.type === 'password_reset_requested' && event.outcome === 'failure'));
    assert.ok(types.some((event) => event.type === 'password_reset_completed' && event.outcome === 'success'));
    assert.ok(types.some((event) => event.type === 'password_reset_completed' && event.outcome === 'failure'));
  });
});

describe('changing the email address', () => {
  let h: Harness;
  let userId: string;
  before(async () => {
    h = await createHarness();
    userId = await createVerifiedUser(h, 'edsger@example.com', strongPassword, 'Edsger');
    await createVerifiedUser(h, 'taken@example.com', otherStrongPassword);
  });
  after(async () => {
    await h.close();
  });

  it('sends a link to the new address and a notice to the old; the change happens when the link is followed', async () => {
    await h.service.changeEmail(userId, ' Edsger.New@Example.com', meta);
    assert.equal((await h.service.getUser(userId))?.email, 'edsger@example.com');
    assert.match(h.mail.to('edsger@example.com').at(-1)?.subject ?? '', /change of email address was requested/);
    const token = h.mail.tokenFor('edsger.new@example.com', '/verify-email');
    const user = await h.service.verifyEmail(token, meta);
    assert.equal(user.email, 'edsger.new@example.com');
    assert.equal(user.emailVerified, true);
    await h.service.signIn({ email: 'edsger.new@example.com', password: strongPassword }, meta);
    assert.equal((await codeOf(() => h.service.signIn({ email: 'edsger@example.com', password: strongPassword }, meta))).code, 'INVALID_CREDENTIALS');
  });

  it('answers the same for an address that has an account, sending it no link', async () => {
    const sentBefore = h.mail.to('taken@example.com').length;
    await h.service.changeEmail(userId, 'taken@example.com', meta);
    const received = h.mail.to('taken@example.com').slice(sentBefore);
    assert.equal(received.length, 1);
    assert.doesNotMatch(received[0]?.text ?? '', /token=/);
  });

  it('refuses the current address and malformed ones', async () => {
    assert.equal((await codeOf(() => h.service.changeEmail(userId, 'edsger.new@example.com', meta))).fields?.email !== undefined, true);
    assert.equal((await codeOf(() => h.service.changeEmail(userId, 'nope', meta))).code, 'VALIDATION_FAILED');
  });
});

describe('deleting the account', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(async () => {
    await h.close();
  });

  it('removes the user, their tokens and sessions, and strips personal data from their audit events', async () => {
    const userId = await createVerifiedUser(h, 'ken@example.com', strongPassword, 'Ken');
    const keepId = await createVerifiedUser(h, 'dennis@example.com', otherStrongPassword);
    await h.service.requestPasswordReset('ken@example.com', meta);
    const now = Date.now();
    for (const [id, owner] of [['a'.repeat(64), userId], ['b'.repeat(64), keepId]] as const) {
      await h.db.insertInto('sessions').values({ id, user_id: owner, data: '{}', created_at: now, last_seen_at: now, idle_expires_at: now + 60_000, absolute_expires_at: now + 60_000, ip: '198.51.100.1', user_agent: 'x' }).execute();
    }
    await h.service.deleteAccount(userId, meta);

    await h.service.getUser(userId);
    assert.equal((await h.db.selectFrom('one_time_tokens').select('token_hash').where('user_id', '=', userId).execute()).length, 0);
    assert.deepEqual((await h.db.selectFrom('sessions').select('user_id').execute()).map((row) => row.user_id), [keepId]);
    const events = await h.db.selectFrom('audit_events').selectAll().where((eb) => eb.or([eb('subject_id', '=', userId), eb('actor_id', '=', userId)])).execute();
    assert.ok(events.length >= 3);
    assert.ok(events.every((event) => event.ip === null && event.user_agent === null && event.detail === null));
    assert.ok(events.some((event) => event.type === 'account_deleted'));
    // Other people's events keep their data.
    const others = await h.db.selectFrom('audit_events').select('ip').where('subject_id', '=', keepId).execute();
    assert.ok(others.every((event) => event.ip === meta.ip));
    // The address can be used again.
    await h.service.signUp({ email: 'ken@example.com', password: strongPassword }, meta);
    assert.match(h.mail.to('ken@example.com').at(-1)?.subject ?? '', /Confirm your email/);
  });

  it('answers NOT_FOUND for an account that is not there', async () => {
    assert.equal((await codeOf(() => h.service.deleteAccount('00000000-0000-4000-8000-000000000000', meta))).code, 'NOT_FOUND');
  });
});
