// test/accounts/sign-up-and-sign-in.test.ts
// AccountService against real SQLite: sign-up, email verification, sign-in, re-authentication and
// the profile, with their failure modes and hostile input.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcrypt';
import { loadConfig } from '../../src/config/load.js';
import { setUpAccounts } from '../../src/accounts/setup.js';
import { parseStoredHash } from '../../src/accounts/passwords/hash-format.js';
import { codeOf, createHarness, createVerifiedUser, meta, otherStrongPassword, strongPassword, type Harness } from './harness.js';

describe('sign-up and email verification', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(async () => {
    await h.close();
  });

  it('creates an unverified account with a normalised email and sends a verification link', async () => {
    await h.service.signUp({ email: '  Ada.Lovelace@EXAMPLE.com ', password: strongPassword, displayName: ' Ada ' }, meta);
    const row = await h.db.selectFrom('users').selectAll().where('email', '=', 'ada.lovelace@example.com').executeTakeFirstOrThrow();
    assert.equal(row.display_name, 'Ada');
    assert.equal(row.email_verified_at, null);
    assert.equal(row.role, 'user');
    assert.ok(row.password_hash.startsWith('$pc-bcrypt-hmac$v=1$$2b$10$'));
    const [message] = h.mail.to('ada.lovelace@example.com');
    assert.match(message?.subject ?? '', /Confirm your email address/);
    assert.match(message?.text ?? '', /^https:\/\/localhost:8443\/verify-email\?token=[A-Za-z0-9_-]{43}$/m);
    assert.match(message?.html ?? '', /href="https:\/\/localhost:8443\/verify-email\?token=/);
  });

  it('answers the same for an address that exists, in any case or Unicode form, and emails its owner instead', async () => {
    const before = await h.db.selectFrom('users').select('id').execute();
    // Full-width letters are NFKC-equivalent to ASCII.
    await h.service.signUp({ email: 'ＡＤＡ.lovelace@example.com', password: otherStrongPassword }, meta);
    const afterRows = await h.db.selectFrom('users').select('id').execute();
    assert.equal(afterRows.length, before.length);
    const latest = h.mail.to('ada.lovelace@example.com').at(-1);
    assert.match(latest?.subject ?? '', /Someone tried to create/);
    assert.doesNotMatch(latest?.text ?? '', /token=/);
    const events = await h.db.selectFrom('audit_events').selectAll().where('type', '=', 'sign_up').orderBy('at').execute();
    assert.deepEqual(events.map((event) => event.outcome), ['success', 'failure']);
    assert.equal(events[1]?.detail, JSON.stringify({ reason: 'email_taken' }));
  });

  it('verifies the email once; the link then stops working', async () => {
    const token = h.mail.tokenFor('ada.lovelace@example.com', '/verify-email');
    const user = await h.service.verifyEmail(token, meta);
    assert.equal(user.email, 'ada.lovelace@example.com');
    assert.equal(user.emailVerified, true);
    assert.equal((await codeOf(() => h.service.verifyEmail(token, meta))).code, 'TOKEN_INVALID');
  });

  it('refuses weak passwords with the reason and the fix in fields.password, before anything is stored', async () => {
    const refused = await codeOf(() => h.service.signUp({ email: 'weak@example.com', password: 'PasswordPassword' }, meta));
    assert.equal(refused.code, 'PASSWORD_REJECTED');
    assert.match(refused.fields?.password ?? '', /common and leaked passwords.*Choose one/);
    const contains = await codeOf(() => h.service.signUp({ email: 'grace.hopper@example.com', password: 'grace.hopper is the best', displayName: 'Grace' }, meta));
    assert.match(contains.fields?.password ?? '', /email address/);
    assert.equal(await h.db.selectFrom('users').select('id').where('email', 'in', ['weak@example.com', 'grace.hopper@example.com']).executeTakeFirst(), undefined);
  });

  it('refuses malformed and hostile input with field messages that do not echo it', async () => {
    const cases: { input: unknown; field: string }[] = [
      { input: { email: 'not an email', password: strongPassword }, field: 'email' },
      { input: { email: `${'a'.repeat(250)}@example.com`, password: strongPassword }, field: 'email' },
      { input: { email: 42, password: strongPassword }, field: 'email' },
      { input: { email: ['x@example.com'], password: strongPassword }, field: 'email' },
      { input: { email: 'ok@example.com', password: strongPassword, displayName: 'x'.repeat(81) }, field: 'displayName' },
      { input: { email: 'ok@example.com', password: strongPassword, displayName: 'bad\u0000name' }, field: 'displayName' },
      { input: { email: 'ok@example.com', password: strongPassword, displayName: { toString: 1 } }, field: 'displayName' },
      { input: { email: 'ok@example.com', password: 12345 }, field: 'password' },
      { input: { email: 'ok@example.com', password: { length: 20 } }, field: 'password' },
    ];
    for (const { input, field } of cases) {
      const refused = await codeOf(() => h.service.signUp(input as never, meta));
      assert.ok(refused.code === 'VALIDATION_FAILED' || refused.code === 'PASSWORD_REJECTED', `${JSON.stringify(input).slice(0, 60)}: ${refused.code}`);
      assert.ok(Object.hasOwn(refused.fields ?? {}, field), `${field} for ${JSON.stringify(input).slice(0, 60)}`);
      assert.ok(!JSON.stringify(refused.fields).includes('aaaaaaaaaa'), 'the input came back');
    }
    for (const notAnObject of [null, undefined, 'email=x', 42]) {
      assert.equal((await codeOf(() => h.service.signUp(notAnObject as never, meta))).code, 'VALIDATION_FAILED');
    }
    const huge = await codeOf(() => h.service.signUp({ email: 'ok@example.com', password: 'x'.repeat(1_000_000) }, meta));
    assert.equal(huge.code, 'PASSWORD_REJECTED');
  });

  it('accepts Unicode names and 200-character passwords', async () => {
    const long = 'Tangerine submarines hum softly beneath 47 crooked lighthouses while velvet badgers audit '.repeat(3).slice(0, 200);
    await h.service.signUp({ email: 'zoe@example.com', password: long, displayName: 'Zoë Ñúñez 李小龍 🦊' }, meta);
    const token = h.mail.tokenFor('zoe@example.com', '/verify-email');
    const user = await h.service.verifyEmail(token, meta);
    assert.equal(user.displayName, 'Zoë Ñúñez 李小龍 🦊');
    assert.equal((await h.service.signIn({ email: 'zoe@example.com', password: long }, meta)).id, user.id);
    assert.equal((await codeOf(() => h.service.signIn({ email: 'zoe@example.com', password: long.slice(0, 199) }, meta))).code, 'INVALID_CREDENTIALS');
  });

  it('refuses forged, malformed and expired verification tokens, and resending replaces the old link', async () => {
    for (const forged of ['', 'x', 'A'.repeat(43), 'A'.repeat(44), '../../etc/passwd', 'a'.repeat(100_000), 7, null, { token: 'x' }]) {
      assert.equal((await codeOf(() => h.service.verifyEmail(forged as string, meta))).code, 'TOKEN_INVALID');
    }
    await h.service.signUp({ email: 'late@example.com', password: strongPassword }, meta);
    const first = h.mail.tokenFor('late@example.com', '/verify-email');
    const user = await h.db.selectFrom('users').select('id').where('email', '=', 'late@example.com').executeTakeFirstOrThrow();
    await h.service.resendVerification(user.id, meta);
    const second = h.mail.tokenFor('late@example.com', '/verify-email');
    assert.notEqual(first, second);
    assert.equal((await codeOf(() => h.service.verifyEmail(first, meta))).code, 'TOKEN_INVALID');
    h.advance(24 * 60 * 60_000 + 1_000);
    try {
      assert.equal((await codeOf(() => h.service.verifyEmail(second, meta))).code, 'TOKEN_INVALID');
    } finally {
      h.advance(-(24 * 60 * 60_000 + 1_000));
    }
    // Not yet expired once the clock is back: the failed attempts above did not spend it.
    assert.equal((await h.service.verifyEmail(second, meta)).emailVerified, true);
    // Verified accounts get no further links.
    await h.service.resendVerification(user.id, meta);
    assert.equal(h.mail.to('late@example.com').length, 2);
  });
});

describe('sign-in and re-authentication', () => {
  let h: Harness;
  let userId: string;
  before(async () => {
    h = await createHarness();
    userId = await createVerifiedUser(h, 'linus@example.com', strongPassword, 'Linus');
  });
  after(async () => {
    await h.close();
  });

  it('signs in with the right password, whatever the case of the email', async () => {
    const user = await h.service.signIn({ email: 'LINUS@example.com ', password: strongPassword }, meta);
    assert.deepEqual(Object.keys(user).sort(), ['createdAt', 'disabled', 'displayName', 'email', 'emailVerified', 'id', 'passwordChangedAt', 'role']);
    assert.equal(user.id, userId);
  });

  it('uses the account the caller already read for the same address, and only for that address', async () => {
    const row = await h.db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirstOrThrow();
    // The caller's read is trusted, not repeated: told there is no such account, sign-in believes it.
    assert.equal((await codeOf(() => h.service.signIn({ email: 'linus@example.com', password: strongPassword }, meta, { email: 'linus@example.com', row: undefined }))).code, 'INVALID_CREDENTIALS');
    assert.equal((await h.service.signIn({ email: 'Linus@Example.com', password: strongPassword }, meta, { email: 'linus@example.com', row })).id, userId);
    // A lookup for another address is ignored: the account is read by the address signed in.
    const otherRow = { ...row, id: 'not-this-one', email: 'someone@example.com' };
    assert.equal((await h.service.signIn({ email: 'linus@example.com', password: strongPassword }, meta, { email: 'someone@example.com', row: otherRow })).id, userId);
  });

  it('lets unverified accounts sign in (the web layer decides what they see)', async () => {
    await h.service.signUp({ email: 'unverified@example.com', password: strongPassword }, meta);
    const user = await h.service.signIn({ email: 'unverified@example.com', password: strongPassword }, meta);
    assert.equal(user.emailVerified, false);
  });

  it('answers an unknown email, a wrong password and a disabled account identically', async () => {
    const admin = await h.service.createUser({ email: 'root@example.com', password: otherStrongPassword, role: 'admin', emailVerified: true });
    await createVerifiedUser(h, 'disabled@example.com');
    const disabled = await h.db.selectFrom('users').select('id').where('email', '=', 'disabled@example.com').executeTakeFirstOrThrow();
    await h.service.setDisabled(admin.id, disabled.id, true, meta);

    const unknown = await codeOf(() => h.service.signIn({ email: 'nobody@example.com', password: strongPassword }, meta));
    const wrong = await codeOf(() => h.service.signIn({ email: 'linus@example.com', password: otherStrongPassword }, meta));
    const off = await codeOf(() => h.service.signIn({ email: 'disabled@example.com', password: strongPassword }, meta));
    assert.deepEqual(unknown, wrong);
    assert.deepEqual(wrong, off);
    assert.equal(unknown.code, 'INVALID_CREDENTIALS');
    for (const hostile of [{ email: 5, password: strongPassword }, { email: 'linus@example.com', password: null }, { email: 'linus@example.com', password: 'x'.repeat(100_000) }, {}]) {
      assert.deepEqual(await codeOf(() => h.service.signIn(hostile as never, meta)), unknown);
    }
  });

  it('records each attempt with who, when, where and why, server-side, never the password', async () => {
    const events = await h.db.selectFrom('audit_events').selectAll().where('type', '=', 'sign_in').orderBy('at').execute();
    const failures = events.filter((event) => event.outcome === 'failure').map((event) => JSON.parse(event.detail ?? '{}') as Record<string, unknown>);
    assert.ok(failures.some((detail) => detail.reason === 'unknown_email' && detail.email === 'nobody@example.com'));
    assert.ok(failures.some((detail) => detail.reason === 'wrong_password'));
    assert.ok(failures.some((detail) => detail.reason === 'disabled'));
    const success = events.find((event) => event.outcome === 'success');
    assert.deepEqual({ ip: success?.ip, userAgent: success?.user_agent, subjectId: success?.subject_id }, { ip: meta.ip, userAgent: meta.userAgent, subjectId: userId });
    const everything = JSON.stringify(await h.db.selectFrom('audit_events').selectAll().execute()) + h.logs.join('\n');
    assert.ok(!everything.includes(strongPassword) && !everything.includes(otherStrongPassword), 'a password reached the audit trail or the logs');
  });

  it('re-authenticates with the current password only', async () => {
    await h.service.reauthenticate(userId, strongPassword, meta);
    assert.equal((await codeOf(() => h.service.reauthenticate(userId, otherStrongPassword, meta))).code, 'INVALID_CREDENTIALS');
    assert.equal((await codeOf(() => h.service.reauthenticate('no-such-user', strongPassword, meta))).code, 'INVALID_CREDENTIALS');
    const reauths = await h.db.selectFrom('audit_events').select('outcome').where('type', '=', 'reauth').execute();
    assert.deepEqual(reauths.map((event) => event.outcome).sort(), ['failure', 'failure', 'success']);
  });

  it('upgrades the stored hash at sign-in when the bcrypt cost changes, and to Argon2id when selected', async () => {
    const before = await h.db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow();
    assert.deepEqual(parseStoredHash(before.password_hash), { ...parseStoredHash(before.password_hash), scheme: 'bcrypt-hmac', cost: 10 });
    const costlier = (await loadConfig({ env: { NODE_ENV: 'test', PORTCULLIS_DATA_DIR: h.dir, PORTCULLIS_BCRYPT_COST: '11', PORTCULLIS_SECRET: 's'.repeat(48) }, cwd: h.dir, euid: 1000 })).config;
    const upgraded = setUpAccounts({ db: h.db, config: costlier, logger: h.deps.logger, mailer: h.mail, policy: h.deps.policy });
    await upgraded.service.signIn({ email: 'linus@example.com', password: strongPassword }, meta);
    const after11 = await h.db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow();
    assert.equal(parseStoredHash(after11.password_hash).scheme === 'bcrypt-hmac' && (parseStoredHash(after11.password_hash) as { cost: number }).cost, 11);

    const argonConfig = (await loadConfig({ env: { NODE_ENV: 'test', PORTCULLIS_DATA_DIR: h.dir, PORTCULLIS_PASSWORD_HASH: 'argon2id', PORTCULLIS_SECRET: 's'.repeat(48) }, cwd: h.dir, euid: 1000 })).config;
    const argon = setUpAccounts({ db: h.db, config: argonConfig, logger: h.deps.logger, mailer: h.mail, policy: h.deps.policy });
    await argon.service.signIn({ email: 'linus@example.com', password: strongPassword }, meta);
    const afterArgon = await h.db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow();
    assert.equal(parseStoredHash(afterArgon.password_hash).scheme, 'argon2id');
    // And the original service (bcrypt, cost 10) still signs in with it, and moves it back.
    await h.service.signIn({ email: 'linus@example.com', password: strongPassword }, meta);
    const back = await h.db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow();
    assert.equal(parseStoredHash(back.password_hash).scheme, 'bcrypt-hmac');
  });

  it('signs in an imported $2y$ user and replaces the hash with the peppered scheme', async () => {
    const plain = await bcrypt.hash('imported users passphrase', 10);
    const result = await h.service.importUsers([{ email: 'legacy@example.com', passwordHash: `$2y$${plain.slice(4)}`, emailVerified: true }]);
    assert.deepEqual(result, { imported: 1, skipped: 0 });
    assert.equal((await codeOf(() => h.service.signIn({ email: 'legacy@example.com', password: 'imported users passphrasE' }, meta))).code, 'INVALID_CREDENTIALS');
    const stillLegacy = await h.db.selectFrom('users').select('password_hash').where('email', '=', 'legacy@example.com').executeTakeFirstOrThrow();
    assert.ok(stillLegacy.password_hash.startsWith('$2y$'), 'a failed sign-in changed the hash');
    await h.service.signIn({ email: 'legacy@example.com', password: 'imported users passphrase' }, meta);
    const upgraded = await h.db.selectFrom('users').select('password_hash').where('email', '=', 'legacy@example.com').executeTakeFirstOrThrow();
    assert.ok(upgraded.password_hash.startsWith('$pc-bcrypt-hmac$v=1$$2b$10$'), upgraded.password_hash);
    await h.service.signIn({ email: 'legacy@example.com', password: 'imported users passphrase' }, meta);
  });
});

describe('profile', () => {
  let h: Harness;
  let userId: string;
  before(async () => {
    h = await createHarness();
    userId = await createVerifiedUser(h, 'mary@example.com', strongPassword, 'Mary');
  });
  after(async () => {
    await h.close();
  });

  it('reads a user, and nothing for an unknown id', async () => {
    assert.equal((await h.service.getUser(userId))?.displayName, 'Mary');
    assert.equal(await h.service.getUser('00000000-0000-4000-8000-000000000000'), undefined);
    assert.equal(await h.service.getUser(17 as unknown as string), undefined);
  });

  it('renames and clears the display name, refusing bad names', async () => {
    assert.equal((await h.service.updateProfile(userId, { displayName: '  Mary Somerville ' }, meta)).displayName, 'Mary Somerville');
    assert.equal((await h.service.updateProfile(userId, { displayName: null }, meta)).displayName, null);
    assert.equal((await h.service.updateProfile(userId, { displayName: '' }, meta)).displayName, null);
    assert.equal((await codeOf(() => h.service.updateProfile(userId, { displayName: 'x'.repeat(200) }, meta))).code, 'VALIDATION_FAILED');
    assert.equal((await codeOf(() => h.service.updateProfile('missing', { displayName: 'X' }, meta))).code, 'NOT_FOUND');
  });
});
