// test/mfa/totp-service.test.ts
// The authenticator app over the real service and database, with the clock set to the
// millisecond: enrolment turns on only with a valid code, each code works once (the last step is
// stored), the window is one step either side and no wider, at most five wrong codes per account
// in five minutes (then even the right code gets the wrong-code answer until the window passes,
// also under concurrency), every attempt is audited, and the seed is sealed at rest.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, beforeEach, describe, it } from 'node:test';
import { sql } from 'kysely';
import * as OTPAuth from 'otpauth';
import { totpCodeAt, totpStep } from '../../src/accounts/mfa/totp.js';
import { createSecretBox } from '../../src/security/encryption.js';
import type { PublicUser } from '../../src/accounts/types.js';
import { codeOf } from '../accounts/harness.js';
import { createMfaHarness, meta, settle, type MfaHarness } from './support/domain.js';

const step = 30_000;

async function auditOf(h: MfaHarness, userId: string, type: string) {
  return (await h.accounts.listActivity(userId, 200)).filter((event) => event.type === type);
}

describe('TOTP over the real service', () => {
  let h: MfaHarness;
  before(async () => {
    h = await createMfaHarness();
  });
  after(async () => {
    await h.close();
  });

  describe('enrolment', () => {
    let user: PublicUser;
    before(async () => {
      user = await h.user('enrol@example.com');
    });

    it('hands out a 160-bit seed and its otpauth URI, and nothing is on yet', async () => {
      const enrolment = await h.mfa.startTotpEnrolment(user, meta);
      assert.equal(OTPAuth.Secret.fromBase32(enrolment.secret).bytes.length, 20);
      const uri = new URL(enrolment.otpauthUrl);
      assert.equal(uri.protocol, 'otpauth:');
      assert.equal(uri.searchParams.get('secret'), enrolment.secret);
      assert.equal(uri.searchParams.get('issuer'), h.config.siteName);
      const status = await h.mfa.status(user);
      assert.equal(status.enabled, false);
      assert.equal(status.totpPending, true);
      assert.deepEqual(await h.mfa.methodsFor(user.id), [], 'an unconfirmed seed finishes no sign-in');
      assert.equal((await codeOf(() => h.mfa.verifyTotp(user.id, totpCodeAt(enrolment.secret, h.now), 'sign_in', meta))).code, 'MFA_CODE_INVALID');
    });

    it('turns on only with a valid code, answers ten recovery codes, audits and emails', async () => {
      const enrolment = await h.mfa.startTotpEnrolment(user, meta);
      assert.equal((await codeOf(() => h.mfa.confirmTotp(user, '000000', meta))).code, 'MFA_CODE_INVALID');
      assert.equal((await h.mfa.status(user)).enabled, false);
      const { recoveryCodes } = await h.mfa.confirmTotp(user, totpCodeAt(enrolment.secret, h.now), meta);
      assert.equal(recoveryCodes.length, 10);
      const status = await h.mfa.status(user);
      assert.equal(status.enabled, true);
      assert.equal(status.totp, true);
      assert.equal(status.recoveryCodesRemaining, 10);
      assert.deepEqual(await h.mfa.methodsFor(user.id), ['totp', 'recovery']);
      assert.equal((await codeOf(() => h.mfa.startTotpEnrolment(user, meta))).code, 'MFA_ALREADY_ENABLED');
      const enabled = await auditOf(h, user.id, 'totp_enabled');
      assert.deepEqual(enabled.map((event) => event.outcome).sort(), ['failure', 'success']);
      await settle();
      assert.ok(h.mail.to('enrol@example.com').some((message) => /authenticator app was added/.test(message.subject)));
    });

    it('expires an enrolment left unconfirmed for half an hour', async () => {
      const late = await h.user('late@example.com');
      const enrolment = await h.mfa.startTotpEnrolment(late, meta);
      h.now += 31 * 60_000;
      assert.equal(await h.mfa.pendingTotpEnrolment(late), undefined);
      assert.equal((await codeOf(() => h.mfa.confirmTotp(late, totpCodeAt(enrolment.secret, h.now), meta))).code, 'MFA_CODE_INVALID');
    });
  });

  describe('verification', () => {
    let cases = 0;
    let user: PublicUser;
    let secret: string;
    beforeEach(async () => {
      // A fresh account for each case: its limit and last step start clean.
      // Each case an hour after the last (a clock that only moves forward), at a random step
      // within that hour; the address is the case's number, so no two cases ever share one.
      cases += 1;
      h.now = Date.parse('2026-11-29T12:00:00Z') + cases * 120 * step + Math.floor(Math.random() * 100) * step;
      user = await h.user(`verify-${String(cases)}@example.com`);
      secret = (await h.mfa.startTotpEnrolment(user, meta)).secret;
      // Confirmed with the previous step's code, so the current step is still unused.
      await h.mfa.confirmTotp(user, totpCodeAt(secret, h.now - step), meta);
    });

    it('accepts the current code once, and refuses its replay in the same step and after', async () => {
      const code = totpCodeAt(secret, h.now);
      await h.mfa.verifyTotp(user.id, code, 'sign_in', meta);
      assert.equal((await codeOf(() => h.mfa.verifyTotp(user.id, code, 'sign_in', meta))).code, 'MFA_CODE_INVALID');
      h.now += 10_000;
      assert.equal((await codeOf(() => h.mfa.verifyTotp(user.id, code, 'sign_in', meta))).code, 'MFA_CODE_INVALID');
      const failures = (await auditOf(h, user.id, 'second_factor')).filter((event) => event.outcome === 'failure');
      assert.ok(failures.every((event) => event.detail?.reason === 'replayed'), 'the trail says replayed; the answer does not');
    });

    it('takes one step either side at the edges of a step, and never two', async () => {
      // The last millisecond of a step: the next step's code is one step ahead, so accepted.
      const stepStart = totpStep(h.now) * step;
      h.now = stepStart + step - 1;
      await h.mfa.verifyTotp(user.id, totpCodeAt(secret, h.now + step), 'sign_in', meta);
      // The first millisecond of the step after: two steps ahead is too far even then.
      h.now = stepStart + step;
      assert.equal((await codeOf(() => h.mfa.verifyTotp(user.id, totpCodeAt(secret, h.now + 2 * step), 'sign_in', meta))).code, 'MFA_CODE_INVALID');
      // Two steps late is too late.
      h.now += 3 * step;
      assert.equal((await codeOf(() => h.mfa.verifyTotp(user.id, totpCodeAt(secret, h.now - 2 * step), 'sign_in', meta))).code, 'MFA_CODE_INVALID');
      // One step late is fine, and moves the last used step past everything before it.
      await h.mfa.verifyTotp(user.id, totpCodeAt(secret, h.now - step), 'sign_in', meta);
      await h.mfa.verifyTotp(user.id, totpCodeAt(secret, h.now), 'step_up', meta);
      assert.equal((await codeOf(() => h.mfa.verifyTotp(user.id, totpCodeAt(secret, h.now - step), 'sign_in', meta))).code, 'MFA_CODE_INVALID', 'an earlier step after a later one');
    });

    it('refuses malformed codes like wrong ones, without throwing anything else', async () => {
      for (const code of ['', '12345', '1234567', 'abcdef', null, 42, { code: '123456' }, '1'.repeat(10_000)]) {
        assert.equal((await codeOf(() => h.mfa.verifyTotp(user.id, code, 'sign_in', meta))).code, 'MFA_CODE_INVALID');
        h.now += 61_000;
      }
    });

    it('allows five wrong codes in five minutes, then answers every code as wrong until the window passes', async () => {
      for (let attempt = 0; attempt < 5; attempt += 1) {
        assert.equal((await codeOf(() => h.mfa.verifyTotp(user.id, '000000', 'sign_in', meta))).code, 'MFA_CODE_INVALID');
        h.now += 10_000;
      }
      const right = totpCodeAt(secret, h.now);
      const refused = await codeOf(() => h.mfa.verifyTotp(user.id, right, 'sign_in', meta));
      assert.equal(refused.code, 'MFA_CODE_INVALID');
      assert.equal(refused.message, (await codeOf(() => h.mfa.verifyTotp(user.id, '000000', 'sign_in', meta))).message, 'the same answer as a wrong code');
      const throttled = (await auditOf(h, user.id, 'second_factor')).filter((event) => event.detail?.reason === 'throttled');
      assert.equal(throttled.length, 2, 'refusals while throttled are audited as such');
      // The first failure leaves the window five minutes after it was made.
      h.now += 5 * 60_000 - 40_000;
      await h.mfa.verifyTotp(user.id, totpCodeAt(secret, h.now), 'sign_in', meta);
    });

    it('never evaluates more than five codes at once, however many arrive together', async () => {
      const attempts = await Promise.allSettled(Array.from({ length: 12 }, () => h.mfa.verifyTotp(user.id, '000000', 'sign_in', meta)));
      assert.ok(attempts.every((attempt) => attempt.status === 'rejected'));
      const events = await auditOf(h, user.id, 'second_factor');
      const evaluated = events.filter((event) => event.detail?.reason === 'wrong_code').length;
      assert.ok(evaluated <= 5, `evaluated ${evaluated}`);
      assert.equal(events.length, 12, 'every attempt is audited');
      const rows = await h.db.selectFrom('mfa_failures').select('id').where('user_id', '=', user.id).execute();
      assert.ok(rows.length <= 5, 'only evaluated failures are counted');
    });

    it('lets only one of two simultaneous uses of the same code through', async () => {
      const code = totpCodeAt(secret, h.now);
      const results = await Promise.allSettled([h.mfa.verifyTotp(user.id, code, 'sign_in', meta), h.mfa.verifyTotp(user.id, code, 'sign_in', meta)]);
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
    });
  });

  describe('at rest', () => {
    it('keeps the seed only sealed (AES-256-GCM, bound to its user): the raw database file does not hold it', async () => {
      h.now = Date.parse('2026-11-30T08:00:00Z');
      const first = await h.user('sealed@example.com');
      const second = await h.user('other@example.com');
      const { secret } = await h.mfa.startTotpEnrolment(first, meta);
      await h.mfa.confirmTotp(first, totpCodeAt(secret, h.now), meta);
      await h.mfa.startTotpEnrolment(second, meta);
      await sql`pragma wal_checkpoint(FULL)`.execute(h.db);
      const file = h.config.database.kind === 'sqlite' ? h.config.database.filename : '';
      const bytes = Buffer.concat([file, `${file}-wal`].filter((name) => existsSync(name)).map((name) => readFileSync(name)));
      const raw = Buffer.from(OTPAuth.Secret.fromBase32(secret).bytes);
      assert.equal(bytes.indexOf(secret), -1, 'no base32 seed');
      assert.equal(bytes.indexOf(secret.toLowerCase()), -1);
      assert.equal(bytes.indexOf(raw), -1, 'no raw seed bytes');
      assert.equal(bytes.indexOf(raw.toString('hex')), -1);
      assert.equal(bytes.indexOf(raw.toString('base64')), -1);

      const row = await h.db.selectFrom('mfa_totp').select('sealed_secret').where('user_id', '=', first.id).executeTakeFirstOrThrow();
      assert.match(row.sealed_secret, /^v1\./);
      const box = createSecretBox(h.config.masterKey);
      assert.equal(box.open(row.sealed_secret, `totp:${first.id}`), secret);
      assert.throws(() => box.open(row.sealed_secret, `totp:${second.id}`), 'a seed copied to another user does not open');
      // Copied onto the other account's row, it opens for nobody: the second account's codes fail.
      await h.db.updateTable('mfa_totp').set({ sealed_secret: row.sealed_secret, confirmed_at: h.now }).where('user_id', '=', second.id).execute();
      await assert.rejects(() => h.mfa.verifyTotp(second.id, totpCodeAt(secret, h.now + step), 'sign_in', meta));
    });
  });

  describe('removal', () => {
    it('removes the app (audited, emailed), turns MFA off with the recovery codes when it was the last factor', async () => {
      h.now = Date.parse('2026-12-01T08:00:00Z');
      const user = await h.user('remove@example.com');
      const { secret } = await h.mfa.startTotpEnrolment(user, meta);
      await h.mfa.confirmTotp(user, totpCodeAt(secret, h.now), meta);
      await h.mfa.removeTotp(user, meta);
      const status = await h.mfa.status(user);
      assert.equal(status.enabled, false);
      assert.equal(status.recoveryCodesRemaining, 0);
      assert.equal((await auditOf(h, user.id, 'mfa_disabled')).length, 1);
      await settle();
      assert.ok(h.mail.to('remove@example.com').some((message) => /Two-step verification is off/.test(message.subject)));
    });

    it('refuses to remove the last factor of an account the policy requires MFA of', async () => {
      h.now = Date.parse('2026-12-02T08:00:00Z');
      const admin = await h.user('admin-last@example.com', 'admin');
      const { secret } = await h.mfa.startTotpEnrolment(admin, meta);
      await h.mfa.confirmTotp(admin, totpCodeAt(secret, h.now), meta);
      assert.equal((await codeOf(() => h.mfa.removeTotp(admin, meta))).code, 'MFA_LAST_METHOD');
      assert.equal((await h.mfa.status(admin)).totp, true);
    });
  });
});
