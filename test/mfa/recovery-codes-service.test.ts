// test/mfa/recovery-codes-service.test.ts
// Recovery codes over the real service and database: ten of 50 bits at enrolment, stored only as
// keyed hashes, each usable once (also when two requests race with the same code), forgiving
// about how they are typed, counted against the same wrong-code limit as TOTP, and replaced as a
// whole set by regeneration.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { totpCodeAt } from '../../src/accounts/mfa/totp.js';
import { hashRecoveryCode, normaliseRecoveryCode, recoveryCodeBits } from '../../src/accounts/mfa/recovery-codes.js';
import { deriveKey } from '../../src/security/keys.js';
import type { PublicUser } from '../../src/accounts/types.js';
import { codeOf } from '../accounts/harness.js';
import { createMfaHarness, meta, settle, type MfaHarness } from './support/domain.js';

describe('recovery codes over the real service', () => {
  let h: MfaHarness;
  let user: PublicUser;
  let secret: string;
  let codes: string[];
  before(async () => {
    h = await createMfaHarness();
    user = await h.user('codes@example.com');
    secret = (await h.mfa.startTotpEnrolment(user, meta)).secret;
    codes = (await h.mfa.confirmTotp(user, totpCodeAt(secret, h.now), meta)).recoveryCodes;
  });
  after(async () => {
    await h.close();
  });

  it('come as ten different codes of at least 50 bits, kept only as HMAC hashes under the recovery-code key', async () => {
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    assert.ok(recoveryCodeBits >= 50);
    const rows = await h.db.selectFrom('recovery_codes').selectAll().where('user_id', '=', user.id).execute();
    assert.equal(rows.length, 10);
    const key = deriveKey(h.config.masterKey, 'recovery-code');
    const expected = new Set(codes.map((code) => hashRecoveryCode(key, normaliseRecoveryCode(code) ?? '')));
    for (const row of rows) assert.ok(expected.has(row.code_hash));
    await sql`pragma wal_checkpoint(FULL)`.execute(h.db);
    const file = h.config.database.kind === 'sqlite' ? h.config.database.filename : '';
    const bytes = Buffer.concat([file, `${file}-wal`].filter((name) => existsSync(name)).map((name) => readFileSync(name)));
    for (const code of codes) {
      assert.equal(bytes.indexOf(code), -1);
      assert.equal(bytes.indexOf(code.replace('-', '')), -1);
    }
  });

  it('work once each, typed in any case and spacing', async () => {
    const [first = '', second = ''] = codes;
    assert.deepEqual(await h.mfa.useRecoveryCode(user.id, ` ${first.toLowerCase().replace('-', ' ')} `, 'sign_in', meta), { remaining: 9 });
    assert.equal((await codeOf(() => h.mfa.useRecoveryCode(user.id, first, 'sign_in', meta))).code, 'MFA_CODE_INVALID', 'spent');
    // O for 0 and I/L for 1, as people misread them.
    const misread = second.replace(/0/g, 'O').replace(/1/g, 'l');
    assert.deepEqual(await h.mfa.useRecoveryCode(user.id, misread, 'step_up', meta), { remaining: 8 });
    assert.equal((await h.mfa.status(user)).recoveryCodesRemaining, 8);
    await settle();
    assert.ok(h.mail.to('codes@example.com').some((message) => /A recovery code was used/.test(message.subject) && /8 codes are left/.test(message.text)));
  });

  it('let exactly one of two simultaneous uses of the same code through', async () => {
    const code = codes[2] ?? '';
    const results = await Promise.allSettled([h.mfa.useRecoveryCode(user.id, code, 'sign_in', meta), h.mfa.useRecoveryCode(user.id, code, 'sign_in', meta), h.mfa.useRecoveryCode(user.id, code, 'sign_in', meta)]);
    assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
    assert.equal((await h.mfa.status(user)).recoveryCodesRemaining, 7);
  });

  it('work only for their own account', async () => {
    const other = await h.user('other-codes@example.com');
    const otherSecret = (await h.mfa.startTotpEnrolment(other, meta)).secret;
    await h.mfa.confirmTotp(other, totpCodeAt(otherSecret, h.now), meta);
    assert.equal((await codeOf(() => h.mfa.useRecoveryCode(other.id, codes[3], 'sign_in', meta))).code, 'MFA_CODE_INVALID');
    assert.equal((await h.mfa.status(user)).recoveryCodesRemaining, 7, 'and the owner keeps it');
  });

  it('count against the same limit of five wrong codes in five minutes as TOTP', async () => {
    h.now += 10 * 60_000;
    for (let attempt = 0; attempt < 3; attempt += 1) await codeOf(() => h.mfa.useRecoveryCode(user.id, 'ZZZZZ-ZZZZZ', 'sign_in', meta));
    for (let attempt = 0; attempt < 2; attempt += 1) await codeOf(() => h.mfa.verifyTotp(user.id, '000000', 'sign_in', meta));
    assert.equal((await codeOf(() => h.mfa.useRecoveryCode(user.id, codes[4], 'sign_in', meta))).code, 'MFA_CODE_INVALID', 'even a good code while throttled');
    assert.equal((await h.mfa.status(user)).recoveryCodesRemaining, 7, 'and it was not spent');
    h.now += 5 * 60_000 + 1;
    assert.deepEqual(await h.mfa.useRecoveryCode(user.id, codes[4], 'sign_in', meta), { remaining: 6 });
  });

  it('are replaced as a whole set by regeneration: the old ones stop working', async () => {
    const fresh = await h.mfa.regenerateRecoveryCodes(user, meta);
    assert.equal(fresh.length, 10);
    assert.equal(fresh.filter((code) => codes.includes(code)).length, 0);
    assert.equal((await h.mfa.status(user)).recoveryCodesRemaining, 10);
    assert.equal((await codeOf(() => h.mfa.useRecoveryCode(user.id, codes[5], 'sign_in', meta))).code, 'MFA_CODE_INVALID');
    assert.deepEqual(await h.mfa.useRecoveryCode(user.id, fresh[0], 'sign_in', meta), { remaining: 9 });
    const events = await h.accounts.listActivity(user.id, 200);
    assert.ok(events.some((event) => event.type === 'recovery_codes_generated' && event.detail?.count === 10));
  });

  it('are not made for an account without a second factor, nor accepted from one', async () => {
    const plain = await h.user('plain-codes@example.com');
    assert.equal((await codeOf(() => h.mfa.regenerateRecoveryCodes(plain, meta))).code, 'NOT_FOUND');
    assert.deepEqual(await h.mfa.methodsFor(plain.id), []);
    assert.equal((await codeOf(() => h.mfa.useRecoveryCode(plain.id, 'ABCDE-FGHJK', 'sign_in', meta))).code, 'MFA_CODE_INVALID');
  });
});
