// test/accounts/administration.test.ts
// Admin and operator operations: listing and searching users, disabling and enabling, sending a
// reset link, creating users and importing bcrypt users (all or nothing); plus the activity
// list and web-recorded events.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcrypt';
import { setRole } from '../../src/accounts/administration.js';
import { createFlowContext } from '../../src/accounts/account-service.js';
import { codeOf, createHarness, createVerifiedUser, meta, otherStrongPassword, strongPassword, type Harness } from './harness.js';

describe('administration', () => {
  let h: Harness;
  let adminId: string;
  let userId: string;
  before(async () => {
    h = await createHarness();
    adminId = (await h.service.createUser({ email: 'admin@example.com', password: otherStrongPassword, role: 'admin', emailVerified: true, displayName: 'The Admin' })).id;
    userId = await createVerifiedUser(h, 'hedy@example.com', strongPassword, 'Hedy Lamarr');
    for (let index = 0; index < 12; index += 1) {
      await h.db
        .insertInto('users')
        .values({ id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`, email: `bulk${index}@example.org`, display_name: index === 3 ? '100% real_name' : null, password_hash: 'x', role: 'user', email_verified_at: null, disabled_at: null, created_at: index, password_changed_at: index, updated_at: index })
        .execute();
    }
  });
  after(async () => {
    await h.close();
  });

  it('creates users from the CLI: admin role, verified, refusing taken addresses and weak passwords', async () => {
    const admin = await h.service.getUser(adminId);
    assert.deepEqual({ role: admin?.role, emailVerified: admin?.emailVerified }, { role: 'admin', emailVerified: true });
    assert.equal((await codeOf(() => h.service.createUser({ email: 'ADMIN@example.com', password: strongPassword, role: 'user', emailVerified: false }))).code, 'EMAIL_TAKEN');
    assert.equal((await codeOf(() => h.service.createUser({ email: 'new@example.com', password: 'short', role: 'user', emailVerified: false }))).code, 'PASSWORD_REJECTED');
    assert.equal((await codeOf(() => h.service.createUser({ email: 'new@example.com', password: strongPassword, role: 'root' as never, emailVerified: false }))).code, 'VALIDATION_FAILED');
  });

  it('lists users newest first with a total, and pages through them', async () => {
    const first = await h.service.listUsers({ page: 1, pageSize: 5 });
    assert.equal(first.total, 14);
    assert.equal(first.users.length, 5);
    assert.ok(first.users.every((user) => !('passwordHash' in user) && !('password_hash' in user)));
    const third = await h.service.listUsers({ page: 3, pageSize: 5 });
    assert.equal(third.users.length, 4);
    const clamped = await h.service.listUsers({ page: -4, pageSize: 10_000 });
    assert.equal(clamped.users.length, 14);
  });

  it('searches email and name case-insensitively, treating % and _ as plain characters', async () => {
    assert.deepEqual((await h.service.listUsers({ search: 'HEDY', page: 1, pageSize: 20 })).users.map((user) => user.email), ['hedy@example.com']);
    assert.deepEqual((await h.service.listUsers({ search: 'lamarr', page: 1, pageSize: 20 })).users.map((user) => user.email), ['hedy@example.com']);
    assert.equal((await h.service.listUsers({ search: 'example.org', page: 1, pageSize: 20 })).total, 12);
    assert.deepEqual((await h.service.listUsers({ search: '100%', page: 1, pageSize: 20 })).users.map((user) => user.email), ['bulk3@example.org']);
    assert.equal((await h.service.listUsers({ search: '%', page: 1, pageSize: 20 })).total, 1);
    assert.equal((await h.service.listUsers({ search: '_', page: 1, pageSize: 20 })).total, 1);
    assert.equal((await h.service.listUsers({ search: "' or 1=1 --", page: 1, pageSize: 20 })).total, 0);
  });

  it('disables a user: sign-in fails like a wrong password, sessions end, the user is told; enabling restores it', async () => {
    const now = Date.now();
    await h.db.insertInto('sessions').values({ id: 'c'.repeat(64), user_id: userId, data: '{}', created_at: now, last_seen_at: now, idle_expires_at: now + 60_000, absolute_expires_at: now + 60_000, ip: null, user_agent: null }).execute();
    await h.service.setDisabled(adminId, userId, true, meta);
    assert.equal((await h.service.getUser(userId))?.disabled, true);
    assert.equal((await h.db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute()).length, 0);
    assert.equal((await codeOf(() => h.service.signIn({ email: 'hedy@example.com', password: strongPassword }, meta))).code, 'INVALID_CREDENTIALS');
    assert.match(h.mail.to('hedy@example.com').at(-1)?.subject ?? '', /was disabled/);
    // A disabled account gets no reset link, from the public form or from an admin.
    const sent = h.mail.sent.length;
    await h.service.requestPasswordReset('hedy@example.com', meta);
    assert.equal(h.mail.sent.length, sent);
    assert.equal((await codeOf(() => h.service.sendResetLink(adminId, userId, meta))).code, 'FORBIDDEN');
    await h.service.setDisabled(adminId, userId, false, meta);
    await h.service.signIn({ email: 'hedy@example.com', password: strongPassword }, meta);
    const events = await h.db.selectFrom('audit_events').select(['type', 'actor_id']).where('subject_id', '=', userId).where('type', 'in', ['user_disabled', 'user_enabled']).execute();
    assert.deepEqual(events.map((event) => event.type).sort(), ['user_disabled', 'user_enabled']);
    assert.ok(events.every((event) => event.actor_id === adminId));
  });

  it('refuses admin actions from non-admins, on unknown users, and an admin disabling themselves', async () => {
    assert.equal((await codeOf(() => h.service.setDisabled(userId, adminId, true, meta))).code, 'FORBIDDEN');
    assert.equal((await codeOf(() => h.service.sendResetLink(userId, adminId, meta))).code, 'FORBIDDEN');
    assert.equal((await codeOf(() => h.service.setDisabled('nobody', userId, true, meta))).code, 'FORBIDDEN');
    assert.equal((await codeOf(() => h.service.setDisabled(adminId, adminId, true, meta))).code, 'FORBIDDEN');
    assert.equal((await codeOf(() => h.service.setDisabled(adminId, 'nobody', true, meta))).code, 'NOT_FOUND');
  });

  it('sends a reset link on an admin\'s behalf, recorded as the admin\'s action', async () => {
    await h.service.sendResetLink(adminId, userId, meta);
    const token = h.mail.tokenFor('hedy@example.com', '/reset-password');
    assert.equal(token.length, 43);
    const event = await h.db.selectFrom('audit_events').selectAll().where('type', '=', 'password_reset_requested').where('actor_id', '=', adminId).executeTakeFirst();
    assert.equal(event?.subject_id, userId);
  });

  it('changes roles from the CLI and ends the user\'s sessions', async () => {
    const now = Date.now();
    await h.db.insertInto('sessions').values({ id: 'd'.repeat(64), user_id: userId, data: '{}', created_at: now, last_seen_at: now, idle_expires_at: now + 60_000, absolute_expires_at: now + 60_000, ip: null, user_agent: null }).execute();
    const ctx = createFlowContext(h.deps);
    assert.equal((await setRole(ctx, 'HEDY@example.com', 'admin')).role, 'admin');
    assert.equal((await h.db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute()).length, 0);
    assert.equal((await codeOf(() => setRole(ctx, 'nobody@example.com', 'admin'))).code, 'NOT_FOUND');
    assert.equal((await codeOf(() => setRole(ctx, 'hedy@example.com', 'owner'))).code, 'VALIDATION_FAILED');
    await setRole(ctx, 'hedy@example.com', 'user');
  });
});

describe('importing users', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(async () => {
    await h.close();
  });

  it('imports valid rows in one go and skips addresses that already have an account on a second run', async () => {
    const hash = await bcrypt.hash('the imported passphrase', 4);
    const rows = [
      { email: 'One@Example.com', passwordHash: hash, displayName: 'One', role: 'admin' as const, emailVerified: true },
      { email: 'two@example.com', passwordHash: `$2a$${hash.slice(4)}` },
    ];
    assert.deepEqual(await h.service.importUsers(rows), { imported: 2, skipped: 0 });
    assert.deepEqual(await h.service.importUsers(rows), { imported: 0, skipped: 2 });
    const one = (await h.service.listUsers({ search: 'one@', page: 1, pageSize: 5 })).users[0];
    assert.deepEqual({ email: one?.email, role: one?.role, verified: one?.emailVerified }, { email: 'one@example.com', role: 'admin', verified: true });
    await h.service.signIn({ email: 'two@example.com', password: 'the imported passphrase' }, meta);
  });

  it('imports nothing when any row is invalid, naming the rows at fault', async () => {
    const hash = await bcrypt.hash('x', 4);
    const cases: unknown[] = [
      [{ email: 'ok1@example.com', passwordHash: hash }, { email: 'bad', passwordHash: hash }],
      [{ email: 'ok2@example.com', passwordHash: hash }, { email: 'plain@example.com', passwordHash: 'hunter2' }],
      [{ email: 'ok3@example.com', passwordHash: hash }, { email: 'OK3@example.com', passwordHash: hash }],
      [{ email: 'ok4@example.com', passwordHash: hash, role: 'owner' }],
      [{ email: 'ok5@example.com', passwordHash: hash, extra: true }],
      [{ email: 'ok6@example.com', passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$abc$def' }],
      { email: 'not-an-array@example.com' },
    ];
    for (const rows of cases) {
      const refused = await codeOf(() => h.service.importUsers(rows as never));
      assert.equal(refused.code, 'VALIDATION_FAILED', JSON.stringify(rows));
      assert.ok(Object.keys(refused.fields ?? {}).length > 0);
    }
    const total = (await h.service.listUsers({ search: 'ok', page: 1, pageSize: 50 })).total;
    assert.equal(total, 0);
  });
});

describe('activity and web-recorded events', () => {
  let h: Harness;
  let userId: string;
  before(async () => {
    h = await createHarness();
    userId = await createVerifiedUser(h, 'frances@example.com');
  });
  after(async () => {
    await h.close();
  });

  it('lists a user\'s own events, newest first, bounded by the limit', async () => {
    await h.service.signIn({ email: 'frances@example.com', password: strongPassword }, meta);
    const events = await h.service.listActivity(userId, 10);
    assert.deepEqual(events.slice(0, 3).map((event) => event.type), ['sign_in', 'email_verified', 'sign_up']);
    assert.ok(events.every((event) => event.subjectId === userId));
    assert.equal((await h.service.listActivity(userId, 1)).length, 1);
    assert.equal((await h.service.listActivity(userId, -5)).length, 1);
  });

  it('records web-only events, dropping detail keys that look like secrets', async () => {
    await h.service.recordEvent({ type: 'sign_out', outcome: 'success', actorId: userId, subjectId: userId, ip: '192.0.2.1', userAgent: 'ua', detail: { sessions: 1, password: 'oops', csrfToken: 'abc', note: 'x'.repeat(500) } });
    const [latest] = await h.service.listActivity(userId, 1);
    assert.deepEqual({ type: latest?.type, detail: latest?.detail }, { type: 'sign_out', detail: { sessions: 1, note: 'x'.repeat(200) } });
    await assert.rejects(() => h.service.recordEvent({ type: 'Bad Type!', outcome: 'success', actorId: null, subjectId: null, ip: null, userAgent: null, detail: null }));
  });
});
