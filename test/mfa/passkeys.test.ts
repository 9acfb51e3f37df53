// test/mfa/passkeys.test.ts
// Passkeys over the real server with a software authenticator (real P-256 signatures, real
// verification by @simplewebauthn/server): several per account, named, renamed and removed; the
// second factor after a password; passwordless sign-in with user verification. Threats: a
// replayed assertion, a cloned authenticator (its counter behind), a challenge carried to another
// session, another site's origin or RP id, another account's passkey, and no user verification
// where it is required.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { errorOf, type WebClient } from '../web/support/client.js';
import { passwords, signedInUser, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';
import { SoftAuthenticator } from './support/soft-authenticator.js';
import { editSession, expectStatus } from './support/web.js';

interface PasskeyView {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

describe('passkeys', () => {
  let harness: AccountsHarness;
  let origin: string;
  before(async () => {
    harness = await startAccountsHarness();
    origin = harness.server.config.publicOrigin;
  });
  after(async () => {
    await harness.close();
  });

  const authenticator = () => new SoftAuthenticator({ origin, rpId: 'localhost' });

  async function register(client: WebClient, device: SoftAuthenticator, name?: string) {
    const options = expectStatus(await client.api('POST', '/me/mfa/passkeys/registration-options'), 200, 'registration options').json() as { options: PublicKeyCredentialCreationOptionsJSON };
    const credential = device.create(options.options);
    return client.api('POST', '/me/mfa/passkeys', { ...(name === undefined ? {} : { name }), credential });
  }

  async function requestOptions(client: WebClient, path: string) {
    return (expectStatus(await client.api('POST', path), 200, path).json() as { options: PublicKeyCredentialRequestOptionsJSON }).options;
  }

  describe('one account with two passkeys', () => {
    const email = 'keys@example.com';
    let owner: WebClient;
    let laptop: SoftAuthenticator;
    let phone: SoftAuthenticator;
    let passkeys: PasskeyView[];

    before(async () => {
      owner = await signedInUser(harness, email);
      laptop = authenticator();
      phone = authenticator();
    });

    it('asks for discoverable, user-verified credentials for this RP and registers several, named', async () => {
      const options = (await owner.api('POST', '/me/mfa/passkeys/registration-options')).json() as { options: PublicKeyCredentialCreationOptionsJSON };
      assert.equal(options.options.rp.id, 'localhost');
      assert.equal(options.options.authenticatorSelection?.residentKey, 'required');
      assert.equal(options.options.authenticatorSelection.userVerification, 'required');
      assert.equal(Buffer.from(options.options.user.id, 'base64url').toString('utf8').length, 36, 'the user handle is the random account id');
      const first = await owner.api('POST', '/me/mfa/passkeys', { name: 'Laptop', credential: laptop.create(options.options) });
      expectStatus(first, 201, 'first passkey');
      const added = first.json() as { passkey: PasskeyView; recoveryCodes: string[] };
      assert.equal(added.passkey.name, 'Laptop');
      assert.equal(added.passkey.lastUsedAt, null);
      assert.equal(added.recoveryCodes.length, 10, 'MFA just turned on: recovery codes');
      const second = await register(owner, phone);
      assert.equal(second.status, 201);
      const other = second.json() as { passkey: PasskeyView; recoveryCodes: string[] };
      assert.equal(other.passkey.name, 'Passkey 2', 'a default name');
      assert.deepEqual(other.recoveryCodes, [], 'the existing codes stay');
      passkeys = ((await owner.api('GET', '/me/mfa/passkeys')).json() as { passkeys: PasskeyView[] }).passkeys;
      assert.deepEqual(passkeys.map((passkey) => passkey.name), ['Laptop', 'Passkey 2']);
      const excluded = ((await owner.api('POST', '/me/mfa/passkeys/registration-options')).json() as { options: PublicKeyCredentialCreationOptionsJSON }).options.excludeCredentials ?? [];
      assert.deepEqual(excluded.map((entry) => entry.id).sort(), [...laptop.credentialIds, ...phone.credentialIds].sort(), 'the browser is told not to register the same one twice');
    });

    it('refuses a registration for another challenge, from another origin, or of an authenticator already registered', async () => {
      const options = (await owner.api('POST', '/me/mfa/passkeys/registration-options')).json() as { options: PublicKeyCredentialCreationOptionsJSON };
      const forged = await owner.api('POST', '/me/mfa/passkeys', { credential: authenticator().create(options.options, { challenge: 'A'.repeat(43) }) });
      assert.equal(errorOf(forged).code, 'PASSKEY_REGISTRATION_FAILED');
      const fresh = (await owner.api('POST', '/me/mfa/passkeys/registration-options')).json() as { options: PublicKeyCredentialCreationOptionsJSON };
      const elsewhere = await owner.api('POST', '/me/mfa/passkeys', { credential: authenticator().create(fresh.options, { origin: 'https://evil.example' }) });
      assert.equal(errorOf(elsewhere).code, 'PASSKEY_REGISTRATION_FAILED');
      // The same challenge cannot be used twice either.
      const replayed = await owner.api('POST', '/me/mfa/passkeys', { credential: authenticator().create(fresh.options) });
      assert.equal(errorOf(replayed).code, 'PASSKEY_REGISTRATION_FAILED');
      assert.equal(((await owner.api('GET', '/me/mfa/passkeys')).json() as { passkeys: unknown[] }).passkeys.length, 2, 'nothing stored half-way');
    });

    it('finishes a password sign-in as the second factor, and records when it was used', async () => {
      const client = harness.client();
      const first = (await client.api('POST', '/auth/sign-in', { email, password: passwords.first })).json() as { mfaRequired: boolean; methods: string[] };
      assert.deepEqual(first, { mfaRequired: true, methods: ['passkey', 'recovery'] });
      const options = await requestOptions(client, '/auth/mfa/passkey/options');
      assert.deepEqual((options.allowCredentials ?? []).map((entry) => entry.id).sort(), [...laptop.credentialIds, ...phone.credentialIds].sort());
      const pendingId = client.sessionId;
      const done = await client.api('POST', '/auth/mfa/passkey', { credential: phone.get(options) });
      assert.equal(done.status, 200);
      assert.notEqual(client.sessionId, pendingId);
      assert.equal((await client.api('GET', '/me')).status, 200);
      const list = ((await owner.api('GET', '/me/mfa/passkeys')).json() as { passkeys: PasskeyView[] }).passkeys;
      assert.notEqual(list.find((passkey) => passkey.name === 'Passkey 2')?.lastUsedAt, null);
      assert.equal(list.find((passkey) => passkey.name === 'Laptop')?.lastUsedAt, null);
    });

    it('signs in with a passkey alone (discoverable, user verification required)', async () => {
      const client = harness.client();
      await client.get('/sign-in');
      const options = await requestOptions(client, '/auth/passkey/options');
      assert.equal(options.userVerification, 'required');
      assert.equal(options.allowCredentials, undefined, 'any passkey the browser holds for this site');
      const before = client.sessionId;
      const done = await client.api('POST', '/auth/passkey', { credential: laptop.get(options) });
      assert.equal(done.status, 200);
      assert.equal((done.json() as { user: { email: string } }).user.email, email);
      assert.notEqual(client.sessionId, before);
      assert.equal((await client.api('GET', '/me')).status, 200);
      assert.equal((await client.get('/account')).status, 200);
    });

    it('refuses a replayed assertion, a cloned authenticator behind on its counter, and a challenge from another session', async () => {
      const client = harness.client();
      const options = await requestOptions(client, '/auth/passkey/options');
      const assertion = laptop.get(options);
      assert.equal((await client.api('POST', '/auth/passkey', { credential: assertion })).status, 200);
      const replay = harness.client();
      await replay.api('POST', '/auth/passkey/options');
      assert.equal(errorOf(await replay.api('POST', '/auth/passkey', { credential: assertion })).code, 'PASSKEY_REJECTED', 'replayed in another session');
      const same = harness.client();
      const sameOptions = await requestOptions(same, '/auth/passkey/options');
      assert.equal((await same.api('POST', '/auth/passkey', { credential: laptop.get(sameOptions) })).status, 200);
      assert.equal(errorOf(await same.api('POST', '/auth/passkey', { credential: laptop.get(sameOptions) })).code, 'PASSKEY_REJECTED', 'the challenge was spent');

      // A copy of the authenticator that is behind: its counter went backwards.
      const clone = harness.client();
      const cloneOptions = await requestOptions(clone, '/auth/passkey/options');
      laptop.setCounter(laptop.credentialIds[0] ?? '', 1);
      const cloned = await clone.api('POST', '/auth/passkey', { credential: laptop.get(cloneOptions) });
      assert.equal(errorOf(cloned).code, 'PASSKEY_REJECTED');
      assert.ok(harness.server.logs().some((line) => line.msg === 'passkey signature counter did not increase: possibly a cloned authenticator'));
      laptop.setCounter(laptop.credentialIds[0] ?? '', 1_000);

      // Options asked for by one session, answered in another.
      const asker = harness.client();
      const askedOptions = await requestOptions(asker, '/auth/passkey/options');
      const thief = harness.client();
      await thief.api('POST', '/auth/passkey/options');
      assert.equal(errorOf(await thief.api('POST', '/auth/passkey', { credential: laptop.get(askedOptions) })).code, 'PASSKEY_REJECTED');
      assert.equal((await thief.api('GET', '/me')).status, 401);
    });

    it('refuses another origin, another RP id and, for passwordless sign-in, an unverified user', async () => {
      const client = harness.client();
      const options = await requestOptions(client, '/auth/passkey/options');
      assert.equal(errorOf(await client.api('POST', '/auth/passkey', { credential: laptop.get(options, { origin: 'https://evil.example' }) })).code, 'PASSKEY_REJECTED');
      // A credential is bound to its RP: a look-alike site's browser would ask for another RP id.
      const again = await requestOptions(client, '/auth/passkey/options');
      assert.throws(() => new SoftAuthenticator({ origin, rpId: 'evil.example' }).get(again), 'the phishing site holds no credential');
      const otherRp = laptop.get(again, { rpId: 'evil.example' });
      assert.equal(errorOf(await client.api('POST', '/auth/passkey', { credential: otherRp })).code, 'PASSKEY_REJECTED', 'signed for another RP id');
      laptop.userVerified = false;
      const unverified = await requestOptions(client, '/auth/passkey/options');
      assert.equal(errorOf(await client.api('POST', '/auth/passkey', { credential: laptop.get(unverified) })).code, 'PASSKEY_REJECTED');
      // As a second factor after the password, presence is enough (user verification preferred).
      const second = harness.client();
      await second.api('POST', '/auth/sign-in', { email, password: passwords.first });
      const secondOptions = await requestOptions(second, '/auth/mfa/passkey/options');
      assert.equal((await second.api('POST', '/auth/mfa/passkey', { credential: laptop.get(secondOptions) })).status, 200);
      laptop.userVerified = true;
    });

    it('renames a passkey, and removes one only after a recent second factor', async () => {
      const laptopId = passkeys.find((passkey) => passkey.name === 'Laptop')?.id ?? '';
      const renamed = await owner.api('PATCH', `/me/mfa/passkeys/${laptopId}`, { name: 'Work laptop' });
      assert.equal((renamed.json() as { passkey: PasskeyView }).passkey.name, 'Work laptop');
      await editSession(harness.server, owner.hashedSessionId, (data) => {
        data.secondFactorAt = Date.now() - 11 * 60_000;
      });
      assert.equal(errorOf(await owner.api('DELETE', `/me/mfa/passkeys/${laptopId}`)).code, 'SECOND_FACTOR_REQUIRED');
      const options = await requestOptions(owner, '/auth/mfa/passkey/options');
      assert.equal((await owner.api('POST', '/auth/mfa/passkey', { credential: laptop.get(options) })).status, 200, 'step-up with a passkey');
      assert.equal((await owner.api('DELETE', `/me/mfa/passkeys/${laptopId}`)).status, 204);
      assert.equal(errorOf(await owner.api('DELETE', `/me/mfa/passkeys/${laptopId}`)).code, 'NOT_FOUND');
      const client = harness.client();
      const afterOptions = await requestOptions(client, '/auth/passkey/options');
      assert.equal(errorOf(await client.api('POST', '/auth/passkey', { credential: laptop.get(afterOptions) })).code, 'PASSKEY_REJECTED', 'a removed passkey signs nobody in');
    });

    it('turns MFA off with the last passkey, recovery codes and all; every change was emailed and audited', async () => {
      const remaining = ((await owner.api('GET', '/me/mfa/passkeys')).json() as { passkeys: PasskeyView[] }).passkeys;
      assert.equal(remaining.length, 1);
      assert.equal((await owner.api('DELETE', `/me/mfa/passkeys/${remaining[0]?.id ?? ''}`)).status, 204);
      const status = (await owner.api('GET', '/me/mfa')).json() as { enabled: boolean; recoveryCodesRemaining: number };
      assert.deepEqual({ enabled: status.enabled, left: status.recoveryCodesRemaining }, { enabled: false, left: 0 });
      for (const subject of [/A passkey was added/, /A passkey on your .* was renamed/, /A passkey was removed/, /Two-step verification is off/]) {
        await harness.smtp.waitForMessage(email, (message) => subject.test(message.subject), 10_000);
      }
      const user = await harness.server.server.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow();
      const events = await harness.server.server.accounts.listActivity(user.id, 200);
      for (const type of ['passkey_added', 'passkey_renamed', 'passkey_removed', 'passkey_sign_in', 'mfa_disabled']) assert.ok(events.some((event) => event.type === type), type);
      assert.ok(events.some((event) => event.type === 'passkey_sign_in' && event.outcome === 'failure' && event.detail?.reason === 'counter_not_increased'));
    });
  });

  it('does not take another account\'s passkey as the second factor', async () => {
    const alice = await signedInUser(harness, 'alice-keys@example.com');
    const aliceKey = authenticator();
    expectStatus(await register(alice, aliceKey), 201, 'alice registers');
    const bob = await signedInUser(harness, 'bob-keys@example.com');
    const bobKey = authenticator();
    expectStatus(await register(bob, bobKey), 201, 'bob registers');
    const client = harness.client();
    await client.api('POST', '/auth/sign-in', { email: 'bob-keys@example.com', password: passwords.first });
    const options = await requestOptions(client, '/auth/mfa/passkey/options');
    const answer = await client.api('POST', '/auth/mfa/passkey', { credential: aliceKey.get(options, { credentialId: aliceKey.credentialIds[0] ?? '' }) });
    assert.equal(errorOf(answer).code, 'PASSKEY_REJECTED');
    assert.equal((await client.api('GET', '/me')).status, 401);
  });

  it('keeps an administrator\'s last passkey', async () => {
    const admin = await signedInUser(harness, 'key-admin@example.com');
    const device = authenticator();
    const added = (expectStatus(await register(admin, device, 'Only key'), 201, 'register').json() as { passkey: PasskeyView }).passkey;
    await harness.server.server.db.updateTable('users').set({ role: 'admin' }).where('email', '=', 'key-admin@example.com').execute();
    assert.equal(errorOf(await admin.api('DELETE', `/me/mfa/passkeys/${added.id}`)).code, 'MFA_LAST_METHOD');
  });
});
