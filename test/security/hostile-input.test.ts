// test/security/hostile-input.test.ts
// Threat: malformed and hostile input (oversized, wrongly typed, unknown or prototype-polluting
// fields, broken JSON, injection strings) aimed at the account forms and the JSON API. Each is
// refused with a 4xx and a generic message, echoes nothing, reveals no internals, and leaves no
// half-written rows behind.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { errorCatalogue } from '../../src/errors/catalogue.js';
import { internalsPattern } from '../helpers/test-server.js';
import type { TestResponse } from '../helpers/https-client.js';
import { errorOf, type WebClient } from '../web/support/client.js';
import { countRows, findUser } from '../web/support/database.js';
import { passwords, signUpAndVerify, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';

const catalogueMessages = new Set<string>(Object.values(errorCatalogue).map((definition) => definition.message));
const marker = 'ZZ-ECHO-MARKER';

/** Values of the wrong type: refused for every field. */
const wrongTypes: readonly unknown[] = [null, 42, true, [], ['a@example.com', 'b@example.com'], { $gt: '' }];
/** Text no field accepts: far too long, or with a NUL. */
const impossibleText: readonly string[] = [`${marker}${'x'.repeat(5_000)}`, `${marker}\u0000nul`];
/** Injection strings: refused where a format is expected (emails, tokens); fine as a password or name. */
const injections: readonly string[] = [`${marker}' OR '1'='1`, `${marker}<script>alert(1)</script>`, `${marker}\r\nBcc: all@example.com`];

/** What a field must refuse, by the kind of value it holds. */
function hostileFor(field: string): readonly unknown[] {
  const formatted = field === 'email' || field === 'token';
  // A display name may be cleared with null on PATCH /me.
  const types = field === 'displayName' ? wrongTypes.filter((value) => value !== null) : wrongTypes;
  return [...types, ...impossibleText, ...(formatted ? injections : [])];
}

function assertCleanRefusal(answer: TestResponse, what: string): void {
  assert.ok(answer.status >= 400 && answer.status < 500, `${what}: 4xx, got ${answer.status}`);
  assert.doesNotMatch(answer.body, internalsPattern, `${what}: no internals`);
  // A refused form keeps what the person typed in its fields (escaped); nothing else echoes input.
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

describe('hostile input against the account forms and API', () => {
  let harness: AccountsHarness;
  let member: WebClient;
  before(async () => {
    harness = await startAccountsHarness();
    await signUpAndVerify(harness, 'member@example.com');
    member = harness.client();
    await member.apiSignIn('member@example.com', passwords.first);
  });
  after(async () => {
    await harness.close();
  });

  const publicBodies: readonly [string, Record<string, unknown>][] = [
    ['/auth/sign-up', { email: 'new@example.com', password: passwords.first, displayName: 'New' }],
    ['/auth/sign-in', { email: 'member@example.com', password: passwords.first }],
    ['/auth/verify-email', { token: 'A'.repeat(43) }],
    ['/auth/password/forgot', { email: 'member@example.com' }],
    ['/auth/password/reset', { token: 'A'.repeat(43), newPassword: passwords.second }],
  ];

  it('refuses every field of every public API body replaced by a hostile value, storing nothing', async () => {
    const before = await countRows(harness.server);
    const client = harness.client();
    for (const [path, valid] of publicBodies) {
      for (const field of Object.keys(valid)) {
        for (const value of hostileFor(field)) {
          const answer = await client.api('POST', path, { ...valid, [field]: value });
          assertCleanRefusal(answer, `${path} ${field}=${JSON.stringify(value).slice(0, 40)}`);
        }
      }
      for (const extra of [{ role: 'admin' }, { isAdmin: true }, { emailVerified: true }]) {
        const answer = await client.api('POST', path, { ...valid, ...extra });
        assertCleanRefusal(answer, `${path} with ${Object.keys(extra)[0] ?? ''}`);
        assert.equal(errorOf(answer).fields?.[Object.keys(extra)[0] ?? ''], 'This field is not accepted here.');
      }
      // Prototype pollution keys in raw JSON (JSON.parse keeps __proto__ as an own key).
      const polluted = await client.api('POST', path, undefined, { raw: `{"__proto__":{"role":"admin"},"constructor":{"prototype":{"x":1}},${JSON.stringify(valid).slice(1)}` });
      assertCleanRefusal(polluted, `${path} with __proto__`);
      assert.equal(({} as Record<string, unknown>).role, undefined);
    }
    const after = await countRows(harness.server);
    assert.equal(after.users, before.users, 'no user was created');
    assert.equal(after.tokens, before.tokens, 'no token was issued');
    assert.equal(await findUser(harness.server, 'new@example.com'), undefined);
  });

  it('refuses broken, deeply nested, oversized and mistyped bodies', async () => {
    const client = harness.client();
    // The status where one is certain; otherwise any 4xx.
    const cases: [string, { raw?: string; headers?: Record<string, string | undefined> }, number | undefined][] = [
      ['truncated JSON', { raw: '{"email": "a@example.com", "password": ' }, 400],
      ['a JSON string, not an object', { raw: JSON.stringify(marker) }, 400],
      ['a JSON array', { raw: '[1,2,3]' }, 400],
      ['deep nesting', { raw: `${'{"a":'.repeat(2_000)}1${'}'.repeat(2_000)}` }, 400],
      ['a body over the limit', { raw: JSON.stringify({ email: 'a@example.com', password: `${marker}${'p'.repeat(40_000)}` }) }, 413],
      ['charset trickery', { raw: '{"email":"a@example.com"}', headers: { 'content-type': 'application/json; charset=utf-7' } }, undefined],
      ['a charset that does not exist', { raw: '{"email":"a@example.com"}', headers: { 'content-type': 'application/json; charset=klingon' } }, 415],
    ];
    for (const [what, options, status] of cases) {
      const answer = await client.api('POST', '/auth/sign-in', undefined, options);
      if (status !== undefined) assert.equal(answer.status, status, what);
      assertCleanRefusal(answer, what);
    }
    const unknownType = await client.request('/api/v1/auth/sign-in', { method: 'POST', headers: { 'content-type': 'text/xml', origin: harness.server.config.publicOrigin }, body: `<x>${marker}</x>` });
    assert.equal(unknownType.status, 415);
    assertCleanRefusal(unknownType, 'XML');
  });

  it('refuses hostile values on signed-in API routes and changes nothing', async () => {
    const before = await findUser(harness.server, 'member@example.com');
    for (const value of hostileFor('displayName')) assertCleanRefusal(await member.api('PATCH', '/me', { displayName: value }), `PATCH /me ${JSON.stringify(value).slice(0, 30)}`);
    for (const value of hostileFor('currentPassword')) assertCleanRefusal(await member.api('POST', '/me/password', { currentPassword: value, newPassword: passwords.second }), 'password');
    for (const value of hostileFor('email')) assertCleanRefusal(await member.api('POST', '/me/email', { email: value }), 'email');
    for (const id of ['..%2F..%2Fetc%2Fpasswd', marker, "1' OR '1'='1", 'A'.repeat(64)]) {
      assertCleanRefusal(await member.api('DELETE', `/me/sessions/${encodeURIComponent(id)}`), `session id ${id}`);
    }
    assertCleanRefusal(await member.api('GET', '/me/activity?limit=1&limit=2'), 'a repeated query parameter');
    assertCleanRefusal(await member.api('GET', '/me/activity?limit=100000'), 'an oversized limit');
    // Unknown names are reported only when they are plain identifiers; this one is not.
    assertCleanRefusal(await member.api('GET', `/me?${encodeURIComponent(`<b>${marker}`)}=1`), 'an unexpected query parameter');
    assert.deepEqual(await findUser(harness.server, 'member@example.com'), before);
    assert.equal((await member.api('GET', '/me')).status, 200);
  });

  it('refuses hostile form posts with the form re-rendered or a generic page, storing nothing', async () => {
    const before = await countRows(harness.server);
    const client = harness.client();
    await client.get('/sign-up');
    const forms: [string, string][] = [
      ['repeated fields', `email=a%40example.com&email=b%40example.com&password=${encodeURIComponent(passwords.first)}`],
      ['an unknown field', `email=x%40example.com&password=${encodeURIComponent(passwords.first)}&role=admin`],
      ['an oversized email', `email=${marker}${'a'.repeat(3_000)}%40example.com&password=${encodeURIComponent(passwords.first)}`],
      ['a NUL in the name', `email=y%40example.com&password=${encodeURIComponent(passwords.first)}&displayName=${marker}%00`],
      ['a huge password', `email=z%40example.com&password=${marker}${'p'.repeat(5_000)}`],
      ['too many fields', Array.from({ length: 60 }, (_, index) => `f${index}=1`).join('&')],
      ['a body over the limit', `email=w%40example.com&password=${'p'.repeat(20_000)}`],
      ['bad percent-encoding', 'email=%E0%A4%A&password=%'],
    ];
    for (const [what, body] of forms) {
      const answer = await client.request('/sign-up', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', origin: 'null', 'sec-fetch-site': 'same-origin' },
        body: `_csrf=${client.csrfToken ?? ''}&${body}`,
      });
      assertCleanRefusal(answer, what);
    }
    const after = await countRows(harness.server);
    assert.equal(after.users, before.users);
    assert.equal(after.tokens, before.tokens);
  });

  it('escapes what it shows back: a hostile display name is stored as text and rendered inert', async () => {
    const client = harness.client();
    await client.signIn('member@example.com', passwords.first);
    await client.get('/account');
    const name = '"><img src=x onerror=alert(1)>';
    assert.equal((await client.submit('/account/profile', { displayName: name })).status, 303);
    const page = await client.get('/account');
    assert.ok(!page.body.includes('<img src=x'));
    assert.ok(page.body.includes('&quot;>&lt;img src=x onerror=alert(1)>'));
  });
});
