// test/security/open-redirect.test.ts
// Threat: open redirect. A link such as /sign-in?return=https://evil.example would send a person
// who just typed their password on our page to a look-alike site. Return paths are followed only
// when they are a path on this site; everything else lands on the account page.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { safeReturnPath } from '../../src/web/return-path.js';
import { passwords, signUpAndVerify, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';

/** Every shape of "somewhere else" we know browsers or URL parsers accept. */
const hostile = [
  'https://evil.example/',
  'http://evil.example',
  '//evil.example',
  '///evil.example',
  '/\\evil.example',
  '\\\\evil.example',
  '/\t/evil.example',
  '/\n/evil.example',
  ' //evil.example',
  'javascript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'https:evil.example',
  'evil.example',
  '.evil.example',
  '@evil.example',
  '/sign-out',
  '/api/v1/me',
  `/${'a'.repeat(600)}`,
];

describe('open redirects through return paths', () => {
  let harness: AccountsHarness;
  before(async () => {
    harness = await startAccountsHarness();
    await signUpAndVerify(harness, 'user@example.com');
  });
  after(async () => {
    await harness.close();
  });

  it('keeps only same-site paths (unit)', () => {
    for (const value of hostile) assert.equal(safeReturnPath(value), '/account', JSON.stringify(value));
    assert.equal(safeReturnPath('/account'), '/account');
    assert.equal(safeReturnPath('/admin/users?q=a%20b&page=2'), '/admin/users?q=a%20b&page=2');
    assert.equal(safeReturnPath('/a/../admin/users'), '/admin/users');
    assert.equal(safeReturnPath('/%2F%2Fevil.example'), '/%2F%2Fevil.example', 'an encoded slash stays a path on this site');
    // Encoded line breaks stay encoded: a path here, never a header split.
    assert.equal(safeReturnPath('/%0d%0aSet-Cookie:x=1'), '/%0d%0aSet-Cookie:x=1');
  });

  it('never redirects elsewhere after signing in, whatever the return field holds', async () => {
    for (const value of hostile) {
      const client = harness.client();
      await client.get(`/sign-in?return=${encodeURIComponent(value)}`);
      const answer = await client.submit('/sign-in', { email: 'user@example.com', password: passwords.first, return: value });
      assert.equal(answer.status, 303, JSON.stringify(value));
      assert.equal(answer.headers.location, '/account', JSON.stringify(value));
    }
  });

  it('keeps encoded line breaks encoded in the Location header', async () => {
    const client = harness.client();
    await client.get('/sign-in');
    const answer = await client.submit('/sign-in', { email: 'user@example.com', password: passwords.first, return: '/%0d%0aSet-Cookie:x=1' });
    assert.equal(answer.headers.location, '/%0d%0aSet-Cookie:x=1');
    assert.ok(!(answer.headers['set-cookie'] ?? []).some((cookie) => cookie.startsWith('x=')));
  });

  it('never redirects elsewhere from the sign-in page of a signed-in user or after re-authenticating', async () => {
    const client = harness.client();
    await client.signIn('user@example.com', passwords.first);
    for (const value of hostile.slice(0, 8)) {
      const visit = await client.get(`/sign-in?return=${encodeURIComponent(value)}`);
      assert.equal(visit.headers.location, '/account', JSON.stringify(value));
      const page = await client.get(`/reauthenticate?return=${encodeURIComponent(value)}`);
      assert.match(page.body, /name="return" value="\/account"/);
      const answer = await client.submit('/reauthenticate', { password: passwords.first, return: value });
      assert.equal(answer.headers.location, '/account', JSON.stringify(value));
    }
  });

  it('does not put a hostile return path into the page either', async () => {
    const page = await harness.client().get(`/sign-in?return=${encodeURIComponent('"><script>alert(1)</script>')}`);
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.body, /<script>alert/);
    assert.match(page.body, /name="return" value="\/account"/);
  });
});
