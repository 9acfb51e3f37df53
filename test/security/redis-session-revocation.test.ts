// test/security/redis-session-revocation.test.ts
// Threat: a session that should have ended lives on in Redis. With sessions in the database, the
// domain deletes an account's sessions in the same transaction as the change that ends them; with
// sessions in Redis (PORTCULLIS_REDIS_URL) it must reach Redis too: when the account is deleted,
// when an administrator disables it, and when `portcullis user set-role` changes its role (so the
// next sign-in starts with a new session id).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { openTestRedis, type TestRedis } from '../helpers/redis.js';
import { passwords, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';

describe('ending sessions kept in Redis', () => {
  let testRedis: TestRedis;
  let harness: AccountsHarness;
  const prefix = `revocation-${process.pid}:`;
  before(async () => {
    testRedis = await openTestRedis();
    harness = await startAccountsHarness({ PORTCULLIS_REDIS_URL: testRedis.url, PORTCULLIS_REDIS_PREFIX: prefix });
  });
  after(async () => {
    await harness.close();
    await testRedis.close();
  });

  const signedInTwice = async (email: string) => {
    const user = await harness.server.server.accounts.createUser({ email, password: passwords.first, role: 'user', emailVerified: true });
    const clients = [harness.client(), harness.client()];
    for (const client of clients) await client.signIn(email, passwords.first);
    assert.equal(await harness.server.sessions.countForUser(user.id), 2);
    return { user, clients };
  };

  it('are in Redis, not in the database', async () => {
    const { user } = await signedInTwice('where@example.com');
    const rows = await harness.server.server.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute();
    assert.equal(rows.length, 0);
  });

  it('end when an administrator disables the account', async () => {
    const { user, clients } = await signedInTwice('disabled@example.com');
    const admin = await harness.server.server.accounts.createUser({ email: 'admin@example.com', password: passwords.first, role: 'admin', emailVerified: true });
    await harness.server.server.accounts.setDisabled(admin.id, user.id, true, { ip: '127.0.0.1', userAgent: 'test' });
    assert.equal(await harness.server.sessions.countForUser(user.id), 0);
    for (const client of clients) assert.equal((await client.api('GET', '/me')).status, 401);
  });

  it('end when the account is deleted', async () => {
    const { user } = await signedInTwice('deleted@example.com');
    await harness.server.server.accounts.deleteAccount(user.id, { ip: '127.0.0.1', userAgent: 'test' });
    assert.equal(await harness.server.sessions.countForUser(user.id), 0);
  });

  it('end when `portcullis user set-role` changes the role', async () => {
    const { user, clients } = await signedInTwice('promoted@example.com');
    const database = harness.server.config.database;
    const result = await runCli(['user', 'set-role', '--email', 'promoted@example.com', '--role', 'admin'], {
      env: {
        NODE_ENV: 'test',
        PORTCULLIS_DATA_DIR: harness.server.dataDir,
        PORTCULLIS_DATABASE_URL: database.kind === 'sqlite' ? `sqlite:${database.filename}` : database.url,
        PORTCULLIS_REDIS_URL: testRedis.url,
        PORTCULLIS_REDIS_PREFIX: prefix,
      },
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /promoted@example\.com is now admin\./);
    assert.equal(await harness.server.sessions.countForUser(user.id), 0);
    for (const client of clients) assert.equal((await client.api('GET', '/me')).status, 401);
  });
});
