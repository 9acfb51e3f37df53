// test/accounts/password-hashing.test.ts
// Password storage: peppered bcrypt where every character counts, Argon2id, imported plain bcrypt
// hashes, NFKC equivalence, and upgrades when the configured scheme or cost changes.
// bcrypt runs at cost 10 here (the floor) to keep the suite fast; production defaults to 12.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import bcrypt from 'bcrypt';
import { createPasswordHasher, type HasherSettings } from '../../src/accounts/passwords/hasher.js';
import { argon2idPrefix, bcryptHmacPrefix, parseStoredHash } from '../../src/accounts/passwords/hash-format.js';

const pepper = randomBytes(32);
const argon2 = { memoryKiB: 19_456, timeCost: 2, parallelism: 1 };
const bcrypt10: HasherSettings = { algorithm: 'bcrypt', bcryptCost: 10, argon2 };
const bcrypt11: HasherSettings = { algorithm: 'bcrypt', bcryptCost: 11, argon2 };
const argon: HasherSettings = { algorithm: 'argon2id', bcryptCost: 10, argon2 };

describe('password hashing', () => {
  it('stores a self-describing peppered bcrypt hash at the configured cost', async () => {
    const hasher = createPasswordHasher(bcrypt10, pepper);
    const stored = await hasher.hash('a long enough passphrase');
    assert.ok(stored.startsWith(`${bcryptHmacPrefix}$2b$10$`), stored);
    assert.deepEqual(await hasher.verify('a long enough passphrase', stored), { valid: true, needsRehash: false });
    assert.equal((await hasher.verify('a long enough passphrasE', stored)).valid, false);
  });

  it('keeps every character significant: passwords sharing their first 72 bytes do not verify against each other', async () => {
    const hasher = createPasswordHasher(bcrypt10, pepper);
    const prefix = 'x'.repeat(72);
    const first = `${prefix}first ending`;
    const second = `${prefix}second ending`;
    const stored = await hasher.hash(first);
    assert.equal((await hasher.verify(first, stored)).valid, true);
    assert.equal((await hasher.verify(second, stored)).valid, false);
    assert.equal((await hasher.verify(prefix, stored)).valid, false);
    // The same holds for multi-byte text, where 72 bytes are only 24 characters.
    const emoji = '🔒'.repeat(18);
    const storedEmoji = await hasher.hash(`${emoji}a`);
    assert.equal((await hasher.verify(`${emoji}b`, storedEmoji)).valid, false);
  });

  it('needs the pepper: the same hash does not verify with another key', async () => {
    const stored = await createPasswordHasher(bcrypt10, pepper).hash('a long enough passphrase');
    const otherKey = createPasswordHasher(bcrypt10, randomBytes(32));
    assert.equal((await otherKey.verify('a long enough passphrase', stored)).valid, false);
  });

  it('treats NFKC-equivalent passwords as the same password ("ﬁ" ligature and "fi")', async () => {
    const hasher = createPasswordHasher(bcrypt10, pepper);
    const stored = await hasher.hash('ﬁnding the ﬁrst light');
    assert.equal((await hasher.verify('finding the first light', stored)).valid, true);
    const fullWidth = await hasher.hash('ＰＡＳＳphrase of mine');
    assert.equal((await hasher.verify('PASSphrase of mine', fullWidth)).valid, true);
  });

  it('round-trips Argon2id with OWASP parameters and the pepper as its secret', async () => {
    const hasher = createPasswordHasher(argon, pepper);
    const stored = await hasher.hash('an argon passphrase here');
    assert.ok(stored.startsWith(`${argon2idPrefix}$argon2id$v=19$m=19456,p=1,t=2$`), stored);
    assert.deepEqual(await hasher.verify('an argon passphrase here', stored), { valid: true, needsRehash: false });
    assert.equal((await hasher.verify('an argon passphrase herE', stored)).valid, false);
    assert.equal((await createPasswordHasher(argon, randomBytes(32)).verify('an argon passphrase here', stored)).valid, false);
  });

  it('asks for a rehash when the cost or the algorithm changed, only when the password was right', async () => {
    const old = await createPasswordHasher(bcrypt10, pepper).hash('a long enough passphrase');
    const costlier = createPasswordHasher(bcrypt11, pepper);
    assert.deepEqual(await costlier.verify('a long enough passphrase', old), { valid: true, needsRehash: true });
    assert.deepEqual(await costlier.verify('wrong', old), { valid: false, needsRehash: false });
    const toArgon = createPasswordHasher(argon, pepper);
    assert.deepEqual(await toArgon.verify('a long enough passphrase', old), { valid: true, needsRehash: true });
    const argonHash = await toArgon.hash('a long enough passphrase');
    assert.deepEqual(await costlier.verify('a long enough passphrase', argonHash), { valid: true, needsRehash: true });
  });

  it('verifies imported $2a$, $2b$ and $2y$ hashes with bcrypt semantics, and always asks to upgrade them', async () => {
    const hasher = createPasswordHasher(bcrypt10, pepper);
    const plain = await bcrypt.hash('imported password 1', 4);
    for (const variant of ['$2a$', '$2b$', '$2y$']) {
      const stored = `${variant}${plain.slice(4)}`;
      assert.equal(parseStoredHash(stored).scheme, 'legacy-bcrypt');
      assert.deepEqual(await hasher.verify('imported password 1', stored), { valid: true, needsRehash: true }, variant);
      assert.equal((await hasher.verify('imported password 2', stored)).valid, false, variant);
    }
  });

  it('accepts an imported hash of a password that was not NFKC-normalised by the other system', async () => {
    const hasher = createPasswordHasher(bcrypt10, pepper);
    const stored = await bcrypt.hash('ﬁne old password', 4);
    assert.equal((await hasher.verify('ﬁne old password', stored)).valid, true);
  });

  it('refuses unknown or damaged stored strings without throwing', async () => {
    const hasher = createPasswordHasher(bcrypt10, pepper);
    for (const stored of ['', 'plaintext', '$pc-bcrypt-hmac$v=1$garbage', '$pc-argon2id$v=1$$argon2id$broken', '$1$md5crypt$abc', '$2x$10$abc']) {
      assert.deepEqual(await hasher.verify('anything at all here', stored), { valid: false, needsRehash: false }, stored);
    }
  });

  it('spends a real verification on the dummy hash for unknown users', async () => {
    const hasher = createPasswordHasher(bcrypt10, pepper);
    await hasher.verifyDummy('warm up');
    const started = performance.now();
    await hasher.verifyDummy('some password');
    const elapsed = performance.now() - started;
    // Cost 10 is tens of milliseconds on any machine; a skipped hash would be well under one.
    assert.ok(elapsed > 5, `dummy verification took only ${elapsed.toFixed(2)} ms`);
  });

  it('does not block the event loop while hashing', async () => {
    const hasher = createPasswordHasher(bcrypt10, pepper);
    let ticks = 0;
    const interval = setInterval(() => {
      ticks += 1;
    }, 1);
    await Promise.all([hasher.hash('one passphrase here'), hasher.hash('two passphrase here'), createPasswordHasher(argon, pepper).hash('three passphrase here')]);
    clearInterval(interval);
    assert.ok(ticks >= 5, `the event loop ran only ${ticks} timer ticks while three hashes ran`);
  });
});
