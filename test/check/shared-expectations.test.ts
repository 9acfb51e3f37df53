// test/check/shared-expectations.test.ts
// The checker and the server share one definition of "right": the rules `portcullis check` holds
// other sites to come from src/security, and the server's own headers and cookies meet them. If
// either side changes alone, this file fails.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cookieFindings } from '../../src/check/cookies.js';
import { parseCsp } from '../../src/check/csp.js';
import { parseSetCookie } from '../../src/check/set-cookie.js';
import { hostCookiePrefix, looksLikeSessionCookie, stackRevealingCookieNames } from '../../src/security/cookie-names.js';
import { acceptedReferrerPolicies, collectSecurityHeaders, expectedHeaderRules, minimumHstsMaxAgeSeconds, requiredCspDirectives, unsafeCspSources } from '../../src/security/headers.js';
import { acceptedRedirectStatuses, legacyTlsVersions, minimumTlsVersion, redirectStatus } from '../../src/security/https.js';
import { acceptedSameSiteValues, sessionCookieAttributes } from '../../src/security/session.js';

const serverHeaders = collectSecurityHeaders({ hstsMaxAgeSeconds: minimumHstsMaxAgeSeconds, hstsPreload: false });

function rule(header: string) {
  const found = expectedHeaderRules.find((candidate) => candidate.header === header);
  assert.ok(found, header);
  return found;
}

describe('the header rules the checker applies', () => {
  it('are all met by the headers the server sends', () => {
    for (const expectation of expectedHeaderRules) {
      assert.ok(expectation.accepts(serverHeaders.get(expectation.header)), `${expectation.header}: ${serverHeaders.get(expectation.header) ?? 'absent'} (expected ${expectation.expected})`);
    }
  });

  it('refuse what the targets refuse', () => {
    assert.equal(rule('strict-transport-security').accepts(`max-age=${minimumHstsMaxAgeSeconds - 1}; includeSubDomains`), false);
    assert.equal(rule('strict-transport-security').accepts(`max-age=${minimumHstsMaxAgeSeconds}`), false);
    assert.equal(rule('strict-transport-security').accepts(undefined), false);
    assert.equal(rule('referrer-policy').accepts('unsafe-url'), false);
    assert.equal(rule('referrer-policy').accepts('no-referrer, unsafe-url'), false);
    assert.equal(rule('referrer-policy').accepts('unsafe-url, strict-origin-when-cross-origin'), true);
    assert.equal(rule('x-content-type-options').accepts('sniff'), false);
    assert.equal(rule('cross-origin-opener-policy').accepts('same-origin-allow-popups'), false);
    assert.equal(rule('cross-origin-resource-policy').accepts('cross-origin'), false);
    assert.equal(rule('permissions-policy').accepts(''), false);
    assert.equal(rule('x-powered-by').accepts('Express'), false);
    assert.equal(rule('server').accepts('nginx/1.25.3'), false);
    assert.equal(rule('server').accepts('nginx'), true);
    for (const policy of acceptedReferrerPolicies) assert.equal(rule('referrer-policy').accepts(policy), true, policy);
  });

  it("include the server's CSP: every required directive, no unsafe source", () => {
    const csp = serverHeaders.get('content-security-policy');
    assert.ok(csp);
    const policy = parseCsp([csp]);
    for (const directive of requiredCspDirectives) assert.ok(policy.has(directive), directive);
    for (const sources of policy.values()) for (const source of sources) assert.ok(!unsafeCspSources.includes(source), source);
    assert.deepEqual([...(policy.get('default-src') ?? [])], ["'none'"]);
  });
});

describe('the cookie rules the checker applies', () => {
  it("are all met by the server's session cookie", () => {
    // Written from sessionCookieAttributes: if an attribute is switched off there, the cookie loses it here.
    const attributes: { readonly secure: boolean; readonly httpOnly: boolean; readonly sameSite: string; readonly path: string } = sessionCookieAttributes;
    const header = `${hostCookiePrefix}sid=abc; Path=${attributes.path}; ${attributes.httpOnly ? 'HttpOnly; ' : ''}${attributes.secure ? 'Secure; ' : ''}SameSite=${attributes.sameSite}`;
    const cookie = parseSetCookie(header);
    assert.ok(cookie);
    assert.ok(looksLikeSessionCookie(cookie.name));
    const findings = cookieFindings([{ cookie, setBy: new URL('https://127.0.0.1/') }], 1);
    for (const finding of findings) assert.equal(finding.status, 'pass', `${finding.id}: ${finding.evidence}`);
    assert.ok(acceptedSameSiteValues.includes(attributes.sameSite));
  });

  it('flag every stack-revealing name the server refuses to use', () => {
    for (const name of stackRevealingCookieNames.keys()) {
      const cookie = parseSetCookie(`${name}=1; Path=/; Secure; HttpOnly; SameSite=Lax`);
      assert.ok(cookie, name);
      const [nameFinding] = cookieFindings([{ cookie, setBy: new URL('https://127.0.0.1/') }], 1);
      assert.equal(nameFinding?.status, 'fail', name);
    }
  });
});

describe('the TLS rules the checker applies', () => {
  it('probe exactly the versions below the listener minimum, and accept its redirect statuses', () => {
    const order = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
    assert.deepEqual([...legacyTlsVersions], order.slice(0, order.indexOf(minimumTlsVersion)));
    assert.deepEqual([...acceptedRedirectStatuses], [redirectStatus('GET'), redirectStatus('POST')]);
  });
});
