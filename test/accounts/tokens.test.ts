// test/accounts/tokens.test.ts
// One-time tokens: 256 random bits, stored as SHA-256 only, spent by one atomic UPDATE (so of
// many simultaneous uses exactly one wins), one unused token per account and purpose, expiry,
// and pruning of the dead ones.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { consumeToken, findLiveToken, hashToken, issueToken, isWellFormedToken, pruneTokens, tokenLifetimesMs } from '../../src/accounts/tokens.js';
import { createHarness, createVerifiedUser, type Harness } from './harness.js';

describe('one-time tokens', () => {
  let h: Harness;
  let userId: string;
  before(async () => {
    h = await createHarness();
    userId = await createVerifiedUser(h, 'tokens@example.com');
  });
  after(async () => {
    await h.close();
  });

  it('are 256 random bits in base64url, stored only as their SHA-256', async () => {
    const now = Date.now();
    const token = await issueToken(h.db, { userId, purpose: 'reset_password', now });
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(token, 'base64url').length, 32);
    const rows = await h.db.selectFrom('one_time_tokens').selectAll().where('user_id', '=', userId).where('purpose', '=', 'reset_password').execute();
    assert.deepEqual(rows.map((row) => row.token_hash), [hashToken(token)]);
    assert.equal(rows[0]?.expires_at, now + tokenLifetimesMs.reset_password);
    assert.equal(tokenLifetimesMs.reset_password, 30 * 60_000);
    assert.equal(tokenLifetimesMs.verify_email, 24 * 60 * 60_000);
  });

  it('let exactly one of many simultaneous uses through', async () => {
    const now = Date.now();
    const token = await issueToken(h.db, { userId, purpose: 'reset_password', now });
    const results = await Promise.all(Array.from({ length: 8 }, () => consumeToken(h.db, token, ['reset_password'], now + 1)));
    assert.equal(results.filter((result) => result !== undefined).length, 1);
    assert.equal(await consumeToken(h.db, token, ['reset_password'], now + 2), undefined);
  });

  it('only work for their own purpose and before they expire', async () => {
    const now = Date.now();
    const token = await issueToken(h.db, { userId, purpose: 'verify_email', now });
    assert.equal(await consumeToken(h.db, token, ['reset_password'], now), undefined);
    assert.equal(await findLiveToken(h.db, token, ['verify_email'], now + tokenLifetimesMs.verify_email), undefined);
    assert.equal(await consumeToken(h.db, token, ['verify_email'], now + tokenLifetimesMs.verify_email), undefined);
    assert.equal((await consumeToken(h.db, token, ['verify_email'], now + tokenLifetimesMs.verify_email - 1))?.userId, userId);
  });

  it('refuse anything that is not a well-formed token before asking the database', () => {
    for (const candidate of ['', 'a'.repeat(42), 'a'.repeat(44), `${'a'.repeat(42)}=`, `${'a'.repeat(42)}+`, 5, null, undefined, ['a'.repeat(43)]]) {
      assert.equal(isWellFormedToken(candidate), false, String(candidate));
    }
  });

  it('keep one unused token per account and purpose, enforced by the schema too', async () => {
    const now = Date.now();
    await issueToken(h.db, { userId, purpose: 'change_email', newEmail: 'a@example.com', now });
    await issueToken(h.db, { userId, purpose: 'change_email', newEmail: 'b@example.com', now });
    const live = await h.db.selectFrom('one_time_tokens').select('new_email').where('user_id', '=', userId).where('purpose', '=', 'change_email').where('used_at', 'is', null).execute();
    assert.deepEqual(live, [{ new_email: 'b@example.com' }]);
    // A second unused row written behind issueToken's back is refused by the partial unique index.
    await assert.rejects(() =>
      h.db.insertInto('one_time_tokens').values({ token_hash: 'f'.repeat(64), purpose: 'change_email', user_id: userId, new_email: null, expires_at: now + 1_000, used_at: null, created_at: now }).execute(),
    );
  });

  it('are pruned once used or expired', async () => {
    const now = Date.now();
    const removed = await pruneTokens(h.db, now + 25 * 60 * 60_000);
    assert.ok(removed >= 3, `pruned ${removed}`);
    assert.equal((await h.db.selectFrom('one_time_tokens').select('token_hash').execute()).length, 0);
  });
});
