// test/web/csrf-module.test.ts
// src/security/csrf.ts on its own: tokens are 256 random bits kept per session, compared in
// constant time, and the factory refuses options that would quietly weaken it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Request } from 'express';
import { createCsrfProtection, csrfToken, csrfTokensMatch } from '../../src/security/csrf.js';

function fakeRequest(): Request {
  return { session: {} } as unknown as Request;
}

describe('csrf module', () => {
  it('makes one 256-bit token per session and keeps it', () => {
    const req = fakeRequest();
    const token = csrfToken(req);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(token, 'base64url').length, 32);
    assert.equal(csrfToken(req), token);
    assert.notEqual(csrfToken(fakeRequest()), token);
  });

  it('matches only the exact token', () => {
    const token = csrfToken(fakeRequest());
    assert.equal(csrfTokensMatch(token, token), true);
    assert.equal(csrfTokensMatch(token, `${token}x`), false);
    assert.equal(csrfTokensMatch(token, token.slice(1)), false);
    assert.equal(csrfTokensMatch(token, [token]), false);
    assert.equal(csrfTokensMatch(token, undefined), false);
    assert.equal(csrfTokensMatch(undefined, token), false);
    assert.equal(csrfTokensMatch(undefined, undefined), false);
  });

  it('refuses a public origin that is not an origin, and a malformed API prefix', () => {
    assert.throws(() => createCsrfProtection({ publicOrigin: 'https://example.com/' }), /publicOrigin must be an origin/);
    assert.throws(() => createCsrfProtection({ publicOrigin: 'https://example.com/app' }), /publicOrigin must be an origin/);
    assert.throws(() => createCsrfProtection({ publicOrigin: 'https://example.com', apiPrefix: 'api' }), /apiPrefix/);
    assert.doesNotThrow(() => createCsrfProtection({ publicOrigin: 'https://example.com:8443' }));
  });
});
