// test/accounts/stored-secrets.security.test.ts
// Threat: someone obtains a copy of the database (a backup, a stolen disk). It must hold no
// working link token and no password: tokens only as SHA-256, passwords only as peppered hashes.
// The test reads the raw bytes of the SQLite file and its WAL and searches them.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { sql, type CompiledQuery } from 'kysely';
import { hashToken } from '../../src/accounts/tokens.js';
import { findPublicUserById } from '../../src/accounts/users.js';
import { createHarness, meta, otherStrongPassword, strongPassword, type Harness } from './harness.js';

describe('what the database file holds', () => {
  let h: Harness;
  const tokens: string[] = [];
  before(async () => {
    h = await createHarness();
    await h.service.signUp({ email: 'vault@example.com', password: strongPassword }, meta);
    tokens.push(h.mail.tokenFor('vault@example.com', '/verify-email'));
    await h.service.requestPasswordReset('vault@example.com', meta);
    tokens.push(h.mail.tokenFor('vault@example.com', '/reset-password'));
    const user = await h.service.verifyEmail(tokens[0] ?? '', meta);
    await h.service.changeEmail(user.id, 'vault2@example.com', meta);
    tokens.push(h.mail.tokenFor('vault2@example.com', '/verify-email'));
    await h.service.changePassword(user.id, { currentPassword: strongPassword, newPassword: otherStrongPassword }, meta);
    await h.service.signIn({ email: 'vault@example.com', password: otherStrongPassword }, meta);
    // Make sure everything written is in the files we read.
    await sql`pragma wal_checkpoint(FULL)`.execute(h.db);
  });
  after(async () => {
    await h.close();
  });

  function databaseBytes(): Buffer {
    const file = h.config.database.kind === 'sqlite' ? h.config.database.filename : '';
    return Buffer.concat([file, `${file}-wal`].filter((name) => existsSync(name)).map((name) => readFileSync(name)));
  }

  it('contains no emailed token in clear, only its SHA-256', () => {
    const bytes = databaseBytes();
    assert.equal(tokens.length, 3);
    for (const token of tokens) {
      assert.equal(bytes.includes(Buffer.from(token, 'utf8')), false, 'a raw token is in the database file');
    }
    // The hashes are there: the search above would have found text in these pages.
    assert.equal(bytes.includes(Buffer.from(hashToken(tokens[1] ?? ''), 'utf8')), true);
  });

  it('contains no password, in any encoding a careless implementation might use', () => {
    const bytes = databaseBytes();
    for (const password of [strongPassword, otherStrongPassword]) {
      for (const encoded of [Buffer.from(password, 'utf8'), Buffer.from(password, 'utf16le'), Buffer.from(Buffer.from(password).toString('base64'))]) {
        assert.equal(bytes.includes(encoded), false, 'a password is in the database file');
      }
    }
  });
});

describe('what every signed-in request reads of its account', () => {
  // Threat: memory disclosure (a heap dump, a debugging endpoint left on). The account read on every
  // request (the chain's loadCurrentUser and the signed-in lane, through getUser) must not bring
  // the password hash out of the database only to show a page.
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(async () => {
    await h.close();
  });

  it('selects the public columns only, and still gives the whole public account', async () => {
    await h.service.signUp({ email: 'reader@example.com', password: strongPassword }, meta);
    const signedUp = await h.service.verifyEmail(h.mail.tokenFor('reader@example.com', '/verify-email'), meta);
    const statements: string[] = [];
    // The same database, with every statement it runs written down.
    const watched = new Proxy(h.db, {
      get(target, key) {
        if (key === 'executeQuery') {
          return (query: CompiledQuery) => {
            statements.push(query.sql);
            return target.executeQuery(query);
          };
        }
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const user = await findPublicUserById(watched, signedUp.id);
    assert.equal(statements.length, 1);
    assert.match(statements[0] ?? '', /^select "id", "email", .* from "users" where "id" = /);
    assert.doesNotMatch(statements[0] ?? '', /password_hash|\*/);
    assert.deepEqual(user, await h.service.getUser(signedUp.id));
    assert.equal(user?.email, 'reader@example.com');
    assert.equal(await findPublicUserById(watched, '00000000-0000-4000-8000-000000000000'), undefined);
  });
});
