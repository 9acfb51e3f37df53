// test/accounts/settings.test.ts
// The account settings: safe defaults, and refusals that name the setting and the fix for values
// that would weaken a practice (bcrypt below cost 10, passwords shorter than 8).

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/config-error.js';

describe('account settings', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'portcullis-account-settings-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const load = (env: Record<string, string>) => loadConfig({ env: { PORTCULLIS_DATA_DIR: dir, ...env }, cwd: dir, euid: 1000 });

  async function refusal(env: Record<string, string>): Promise<string> {
    try {
      await load(env);
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.message;
    }
    assert.fail('accepted');
  }

  it('defaults to bcrypt cost 12, 15-character minimum, HIBP off, verified email required, mail to the outbox', async () => {
    const { config } = await load({});
    assert.deepEqual(config.passwords, {
      algorithm: 'bcrypt',
      bcryptCost: 12,
      argon2: { memoryKiB: 19_456, timeCost: 2, parallelism: 1 },
      minLength: 15,
      maxLength: 256,
      hibp: { enabled: false, rangeUrl: 'https://api.pwnedpasswords.com/range/', timeoutMs: 2_000 },
    });
    assert.deepEqual(config.mail, { smtpUrl: undefined, from: 'Portcullis <no-reply@localhost>', outboxDir: path.join(dir, 'outbox') });
    assert.equal(config.accounts.requireVerifiedEmail, true);
  });

  it('reads the account settings', async () => {
    const { config } = await load({
      PORTCULLIS_PASSWORD_HASH: 'argon2id',
      PORTCULLIS_BCRYPT_COST: '13',
      PORTCULLIS_PASSWORD_MIN_LENGTH: '8',
      PORTCULLIS_HIBP: 'on',
      PORTCULLIS_SMTP_URL: 'smtps://user:p%40ss@mail.example.com:465',
      PORTCULLIS_MAIL_FROM: 'Accounts <accounts@example.com>',
      PORTCULLIS_REQUIRE_VERIFIED_EMAIL: 'off',
    });
    assert.equal(config.passwords.algorithm, 'argon2id');
    assert.equal(config.passwords.bcryptCost, 13);
    assert.equal(config.passwords.minLength, 8);
    assert.equal(config.passwords.hibp.enabled, true);
    assert.equal(config.mail.smtpUrl, 'smtps://user:p%40ss@mail.example.com:465');
    assert.equal(config.mail.from, 'Accounts <accounts@example.com>');
    assert.equal(config.accounts.requireVerifiedEmail, false);
    assert.ok(Object.isFrozen(config.passwords.hibp) && Object.isFrozen(config.mail));
  });

  it('refuses bcrypt below cost 10 and a minimum length below 8, naming the setting and the fix', async () => {
    assert.match(await refusal({ PORTCULLIS_BCRYPT_COST: '9' }), /PORTCULLIS_BCRYPT_COST: invalid value .*Fix: use a whole number from 10 \(the OWASP floor\)/);
    assert.match(await refusal({ PORTCULLIS_PASSWORD_MIN_LENGTH: '7' }), /PORTCULLIS_PASSWORD_MIN_LENGTH: .*Fix: use a whole number from 8 to 64/);
    assert.match(await refusal({ PORTCULLIS_PASSWORD_HASH: 'md5' }), /PORTCULLIS_PASSWORD_HASH: .*Fix: use bcrypt or argon2id/);
    assert.match(await refusal({ PORTCULLIS_SMTP_URL: 'http://mail.example.com' }), /PORTCULLIS_SMTP_URL: .*Fix: use smtp:\/\//);
    assert.match(await refusal({ PORTCULLIS_HIBP: 'maybe' }), /PORTCULLIS_HIBP: .*Fix: use on or off/);
  });
});
