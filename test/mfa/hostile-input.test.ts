// test/mfa/hostile-input.test.ts
// Threat: malformed and hostile input on every two-step verification input path (codes, passkey
// names, a browser's WebAuthn answer, path ids, return paths), through the JSON API and the forms.
// Each is refused with a 4xx and a generic message, echoes nothing, reveals no internals, costs
// the account no attempt, and leaves nothing stored half-way.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/server';
import { errorCatalogue } from '../../src/errors/catalogue.js';
import { internalsPattern } from '../helpers/test-server.js';
import type { TestResponse } from '../helpers/https-client.js';
import { errorOf, type WebClient } from '../web/support/client.js';
import { passwords, signedInUser, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';
import { SoftAuthenticator } from './support/soft-authenticator.js';
import { enrolTotpByApi, expectStatus } from './support/web.js';

const catalogueMessages = new Set<string>(Object.values(errorCatalogue).map((definition) => definition.message));
const marker = 'ZZ-ECHO-MARKER';
const wrongTypes: readonly unknown[] = [null, 42, true, [], ['123456', '654321'], { $gt: '' }];
const impossibleText: readonly string[] = [`${marker}${'9'.repeat(5_000)}`, `${marker}\u0000nul`, `12345\u00006`];
const injections: readonly string[] = [`${marker}' OR '1'='1`, `${marker}<script>alert(1)</script>`, `${marker}\r\nBcc: all@example.com`, '123456; DROP TABLE mfa_totp', '٣٤٥٦٧٨'];

function assertCleanRefusal(answer: TestResponse, what: string): void {
  assert.ok(answer.status >= 400 && answer.status < 500, `${what}: 4xx, got ${answer.status}`);
  assert.doesNotMatch(answer.body, internalsPattern, `${what}: no internals`);
  const outsideFields = answer.body.replace(/ value="[^"]*"/g, '');
  assert.ok(!outsideFields.includes(marker), `${what}: the input is not echoed`);
  if (String(answer.headers['content-type']).startsWith('application/json')) {
    const error = errorOf(answer);
    assert.match(error.code, /^[A-Z][A-Z0-9_]*$/, what);
    assert.ok(catalogueMessages.has(error.message), `${what}: a catalogue message, got ${error.message}`);
    for (const [field, message] of Object.entries(error.fields ?? {})) {
      assert.match(field, /^[A-Za-z][A-Za-z0-9_.()-]*$/, `${what}: field names are ours`);
      assert.ok(!message.includes(marker), `${what}: field messages do not echo`);
    }
  }
}

/** Credentials a browser never sends: wrong shapes, hostile strings, oversized parts. */
function hostileCredentials(valid: Record<string, unknown>): unknown[] {
  const response = valid.response as Record<string, unknown>;
  return [
    ...wrongTypes,
    marker,
    { ...valid, id: `${marker}<script>` },
    { ...valid, rawId: 'A'.repeat(5_000) },
    { ...valid, type: 'private-key' },
    { ...valid, response: marker },
    { ...valid, response: { ...response, clientDataJSON: `${marker}!!` } },
    { ...valid, response: { ...response, clientDataJSON: 'A'.repeat(9_000) } },
    { ...valid, extra: marker },
    JSON.parse(`{"id":"abc","rawId":"abc","type":"public-key","response":{},"clientExtensionResults":{},"__proto__":{"admin":true}}`) as unknown,
    { ...valid, response: { ...response, clientDataJSON: Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: marker, origin: 'https://evil.example' })).toString('base64url') } },
  ];
}

describe('hostile input on the two-step verification paths', () => {
  let harness: AccountsHarness;
  let owner: WebClient;
  let pending: WebClient;
  let passkeyId: string;
  let registrationSample: Record<string, unknown>;
  let assertionSample: Record<string, unknown>;
  const email = 'hostile-mfa@example.com';

  const counts = async () => {
    const db = harness.server.server.db;
    const count = async (table: 'mfa_totp' | 'recovery_codes' | 'passkeys' | 'mfa_failures' | 'users') =>
      Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number | string | bigint>().as('n')).executeTakeFirstOrThrow()).n);
    const passkeyRow = await db.selectFrom('passkeys').select(['name', 'counter', 'last_used_at']).where('id', '=', passkeyId).executeTakeFirst();
    const unused = await db.selectFrom('recovery_codes').select('id').where('used_at', 'is', null).execute();
    return { totp: await count('mfa_totp'), codes: await count('recovery_codes'), unused: unused.length, passkeys: await count('passkeys'), failures: await count('mfa_failures'), users: await count('users'), passkeyRow };
  };

  before(async () => {
    harness = await startAccountsHarness();
    owner = await signedInUser(harness, email);
    await enrolTotpByApi(owner);
    const device = new SoftAuthenticator({ origin: harness.server.config.publicOrigin, rpId: 'localhost' });
    const options = (await owner.api('POST', '/me/mfa/passkeys/registration-options')).json() as { options: PublicKeyCredentialCreationOptionsJSON };
    registrationSample = device.create(options.options) as unknown as Record<string, unknown>;
    const added = expectStatus(await owner.api('POST', '/me/mfa/passkeys', { name: 'Key', credential: registrationSample }), 201, 'register');
    passkeyId = (added.json() as { passkey: { id: string } }).passkey.id;
    pending = harness.client();
    await pending.get('/sign-in');
    await pending.submit('/sign-in', { email, password: passwords.first, return: '/account' });
    await pending.get('/second-factor');
    const requestOptions = (await pending.api('POST', '/auth/mfa/passkey/options')).json() as { options: Parameters<SoftAuthenticator['get']>[0] };
    assertionSample = device.get(requestOptions.options) as unknown as Record<string, unknown>;
  });
  after(async () => {
    await harness.close();
  });

  it('refuses every hostile code in the JSON API without spending an attempt', async () => {
    const before = await counts();
    for (const path of ['/me/mfa/totp/confirm', '/auth/mfa/totp', '/auth/mfa/recovery']) {
      const client = path.startsWith('/auth/') ? pending : owner;
      for (const value of [...wrongTypes, ...impossibleText, ...injections]) {
        assertCleanRefusal(await client.api('POST', path, { code: value }), `${path} code=${JSON.stringify(value).slice(0, 40)}`);
      }
      assertCleanRefusal(await client.api('POST', path, { code: '123456', extra: marker }), `${path} with a surplus field`);
      assertCleanRefusal(await client.api('POST', path, {}), `${path} without a code`);
      assertCleanRefusal(await client.api('POST', path, undefined, { raw: `{"code":"${marker}` }), `${path} broken JSON`);
      assertCleanRefusal(await client.api('POST', path, ['123456']), `${path} an array body`);
    }
    assert.deepEqual(await counts(), before, 'nothing stored, no attempt counted');
  });

  it('refuses every hostile code in the forms, keeping the pending sign-in usable', async () => {
    const before = await counts();
    for (const path of ['/second-factor/totp', '/second-factor/recovery']) {
      for (const value of [...impossibleText, ...injections]) {
        const answer = await pending.submit(path, { code: value });
        assertCleanRefusal(answer, `${path} code=${JSON.stringify(value).slice(0, 40)}`);
        assert.equal(answer.status, 400);
      }
      assertCleanRefusal(await pending.submit(path, { code: '123456', extra: marker }), `${path} surplus`);
      const repeated = await pending.request(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'null', 'sec-fetch-site': 'same-origin' }, body: `_csrf=${pending.csrfToken ?? ''}&code=123456&code=654321` });
      assertCleanRefusal(repeated, `${path} repeated field`);
    }
    for (const value of [...impossibleText, ...injections]) {
      assertCleanRefusal(await owner.submit('/account/mfa/totp/confirm', { code: value }), `confirm form code=${JSON.stringify(value).slice(0, 40)}`);
    }
    assert.deepEqual(await counts(), before);
    assert.equal((await pending.get('/second-factor')).status, 200, 'still pending');
  });

  it('never follows a return path off the site', async () => {
    for (const target of ['https://evil.example/', '//evil.example', '/\\evil.example', 'javascript:alert(1)', `/${'a'.repeat(3_000)}`]) {
      const page = await owner.get(`/second-factor?return=${encodeURIComponent(target)}`);
      assert.ok(page.status === 200 || page.status === 400, target);
      assert.ok(!page.body.includes('evil.example'), `${target} not carried into the page`);
    }
  });

  it('refuses hostile passkey answers on every passkey path, storing nothing', async () => {
    const before = await counts();
    const cases: [WebClient, string, (credential: unknown) => unknown, Record<string, unknown>][] = [
      [owner, '/me/mfa/passkeys', (credential) => ({ name: 'New', credential }), registrationSample],
      [pending, '/auth/mfa/passkey', (credential) => ({ credential }), assertionSample],
      [harness.client(), '/auth/passkey', (credential) => ({ credential }), assertionSample],
    ];
    for (const [client, path, body, sample] of cases) {
      for (const credential of hostileCredentials(sample)) {
        assertCleanRefusal(await client.api('POST', path, body(credential)), `${path} credential=${JSON.stringify(credential).slice(0, 60)}`);
      }
    }
    for (const path of ['/me/mfa/passkeys/registration-options', '/auth/mfa/passkey/options', '/auth/passkey/options', '/me/mfa/totp', '/me/mfa/recovery-codes']) {
      assertCleanRefusal(await (path.startsWith('/me/') ? owner : pending).api('POST', path, { extra: marker }), `${path} with a body`);
    }
    assert.deepEqual(await counts(), before);
  });

  it('refuses hostile passkey names and ids, in the API and the forms', async () => {
    const before = await counts();
    for (const value of [...wrongTypes.filter((candidate) => candidate !== null), ...impossibleText, `${marker}\u202e\u0007`]) {
      assertCleanRefusal(await owner.api('PATCH', `/me/mfa/passkeys/${passkeyId}`, { name: value }), `rename name=${JSON.stringify(value).slice(0, 40)}`);
    }
    await owner.get('/account/mfa');
    for (const value of [...impossibleText, `${marker}\u0007`]) {
      assertCleanRefusal(await owner.submit(`/account/mfa/passkeys/${passkeyId}/rename`, { name: value }), `rename form name=${JSON.stringify(value).slice(0, 40)}`);
    }
    for (const id of ['not-a-uuid', marker, '../../etc/passwd', 'a'.repeat(36), '00000000-0000-0000-0000-000000000000']) {
      const encoded = encodeURIComponent(id);
      assertCleanRefusal(await owner.api('PATCH', `/me/mfa/passkeys/${encoded}`, { name: 'x' }), `PATCH id=${id}`);
      assertCleanRefusal(await owner.api('DELETE', `/me/mfa/passkeys/${encoded}`), `DELETE id=${id}`);
      assertCleanRefusal(await owner.submit(`/account/mfa/passkeys/${encoded}/remove`, {}), `remove form id=${id}`);
      assertCleanRefusal(await owner.submit(`/account/mfa/passkeys/${encoded}/rename`, { name: 'x' }), `rename form id=${id}`);
    }
    assertCleanRefusal(await owner.api('PATCH', `/me/mfa/passkeys/${passkeyId}`, { name: 'x', extra: marker }), 'rename with a surplus field');
    assert.deepEqual(await counts(), before);
  });

  it('answers another account\'s passkey id as not found, and changes nothing', async () => {
    const stranger = await signedInUser(harness, 'stranger-mfa@example.com');
    const before = await counts();
    assert.equal(errorOf(await stranger.api('PATCH', `/me/mfa/passkeys/${passkeyId}`, { name: 'Mine now' })).code, 'NOT_FOUND');
    assert.equal(errorOf(await stranger.api('DELETE', `/me/mfa/passkeys/${passkeyId}`)).code, 'NOT_FOUND');
    assert.deepEqual(await counts(), before);
  });
});
