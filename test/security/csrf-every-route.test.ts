// test/security/csrf-every-route.test.ts
// Threat: cross-site request forgery. A page on another site makes the victim's browser send a
// state-changing request to Portcullis, with the victim's cookie. Every POST/PUT/PATCH/DELETE the
// app serves (read from Express's own router, so a new route cannot be missed) is forged in each
// way a browser allows, and each forgery must be refused with 403 CSRF_REJECTED before it acts.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { internalsPattern } from '../helpers/test-server.js';
import type { TestResponse } from '../helpers/https-client.js';
import { findUser, makeAdmin, sessionExists } from '../web/support/database.js';
import { passwords, signUpAndVerify, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';
import type { WebClient } from '../web/support/client.js';
import { samplePath, stateChangingRoutes, type ServedRoute } from '../web/support/routes.js';
import { enrolTotpByApi } from '../mfa/support/web.js';
import { cspReportPath } from '../../src/security/headers.js';

const evil = 'https://evil.example';
const csrfMessage = 'This request did not come from this site. Reload the page and try again.';
/**
 * The one documented exemption (src/web/routes/csp-reports.ts): browsers post CSP violation
 * reports on their own, without cookies or a token. It reads no session and changes no account;
 * its own test below shows a forged post there can do nothing.
 */
const exemptRoutes = [`POST ${cspReportPath}`];

function assertRefused(answer: TestResponse, what: string): void {
  assert.equal(answer.status, 403, what);
  assert.ok(answer.body.includes(csrfMessage), `${what}: the generic CSRF message`);
  assert.doesNotMatch(answer.body, internalsPattern, what);
}

function isApi(route: ServedRoute): boolean {
  return route.path.startsWith('/api/');
}

/** A body the route would accept if it were not forged, so a refusal is the CSRF rule's doing. */
function plausibleFields(route: ServedRoute): Record<string, string> {
  if (route.path.endsWith('/sign-in') || route.path.endsWith('/sign-up')) return { email: 'victim@example.com', password: passwords.third };
  if (route.path.includes('password')) return { currentPassword: passwords.first, newPassword: passwords.third };
  if (route.path.endsWith('/profile') || route.path === '/api/v1/me') return { displayName: 'Forged' };
  if (route.path.endsWith('/delete')) return { confirm: 'yes' };
  // Two-step verification (issue 4): a code, a name, a passkey's answer.
  if (/\/(totp|totp\/confirm)$/.test(route.path) && route.method === 'POST' && !route.path.endsWith('/me/mfa/totp') && !route.path.endsWith('/account/mfa/totp')) return { code: '123456' };
  if (route.path.endsWith('/recovery')) return { code: 'ABCDE-FGHJK' };
  if (route.path.endsWith('/rename') || (route.path.includes('/passkeys/') && route.method === 'PATCH')) return { name: 'Forged' };
  return {};
}

describe('cross-site request forgery against every state-changing route', () => {
  let harness: AccountsHarness;
  let victim: WebClient;
  let routes: ServedRoute[];
  let victimId: string;
  before(async () => {
    harness = await startAccountsHarness();
    await signUpAndVerify(harness, 'victim@example.com');
    await makeAdmin(harness.server, 'victim@example.com');
    victim = harness.client();
    await victim.signIn('victim@example.com', passwords.first);
    // Administrators must use a second factor (PORTCULLIS_MFA_REQUIRED=admin, the default).
    await enrolTotpByApi(victim);
    await victim.get('/account');
    victimId = (await findUser(harness.server, 'victim@example.com'))?.id ?? '';
    const served = stateChangingRoutes(harness.server.server.app);
    assert.deepEqual(
      served.filter((route) => exemptRoutes.includes(`${route.method} ${route.path}`)).map((route) => `${route.method} ${route.path}`),
      exemptRoutes,
      'the CSP report endpoint is served, and is the only exemption',
    );
    routes = served.filter((route) => !exemptRoutes.includes(`${route.method} ${route.path}`));
  });
  after(async () => {
    await harness.close();
  });

  it('finds the state-changing routes from the router itself', () => {
    // A floor, not a list: the loops below cover whatever the router holds.
    assert.ok(routes.filter(isApi).length >= 26, 'API routes found (the two-step verification routes among them)');
    assert.ok(routes.filter((route) => !isApi(route)).length >= 26, 'form routes found (the two-step verification routes among them)');
    for (const path of ['/api/v1/me/mfa/totp', '/api/v1/me/mfa/totp/confirm', '/api/v1/me/mfa/recovery-codes', '/api/v1/me/mfa/passkeys', '/api/v1/auth/mfa/totp', '/api/v1/auth/mfa/recovery', '/api/v1/auth/mfa/passkey', '/api/v1/auth/passkey', '/second-factor/totp', '/account/mfa/totp/confirm', '/account/mfa/recovery-codes/download', '/account/mfa/passkeys/:id/remove']) {
      assert.ok(routes.some((route) => route.path === path), `${path} is among the routes forged`);
    }
    for (const route of routes) assert.ok(['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method), `${route.method} ${route.path}`);
  });

  it('refuses forged form posts: cross-site, without a token, with another session\'s token', async () => {
    const attacker = harness.client();
    await attacker.get('/sign-up');
    const attackersOwnToken = attacker.csrfToken ?? '';
    for (const route of routes.filter((candidate) => !isApi(candidate))) {
      const path = samplePath(route, route.path.includes('/admin/') ? victimId : (victim.hashedSessionId ?? ''));
      const fields = plausibleFields(route);
      const what = `${route.method} ${route.path}`;
      // A form on evil.example auto-submitted in the victim's browser.
      assertRefused(await victim.submit(path, fields, { token: null, headers: { origin: evil, 'sec-fetch-site': 'cross-site' } }), `${what}, cross-site`);
      // Even with the victim's real token (say, leaked), another site's request is refused.
      assertRefused(await victim.submit(path, fields, { headers: { origin: evil, 'sec-fetch-site': 'cross-site' } }), `${what}, cross-site with a stolen token`);
      // Same-site looking, no token.
      assertRefused(await victim.submit(path, fields, { token: null }), `${what}, no token`);
      // The attacker's own valid token, for the attacker's own session.
      assertRefused(await victim.submit(path, fields, { token: attackersOwnToken }), `${what}, another session's token`);
      // An old browser that sends neither Origin nor Sec-Fetch-Site still needs the token.
      assertRefused(await victim.submit(path, fields, { token: null, headers: { origin: undefined, 'sec-fetch-site': undefined } }), `${what}, bare`);
    }
  });

  it('refuses forged JSON calls: no Origin, a foreign Origin, a cross-site fetch, a form body', async () => {
    for (const route of routes.filter(isApi)) {
      const path = samplePath(route).slice('/api/v1'.length);
      const body = plausibleFields(route);
      const what = `${route.method} ${route.path}`;
      assertRefused(await victim.api(route.method, path, body, { origin: null }), `${what}, no Origin`);
      assertRefused(await victim.api(route.method, path, body, { origin: evil }), `${what}, foreign Origin`);
      assertRefused(await victim.api(route.method, path, body, { origin: null, headers: { 'sec-fetch-site': 'cross-site' } }), `${what}, cross-site fetch`);
      assertRefused(await victim.api(route.method, path, body, { origin: null, headers: { 'sec-fetch-site': 'same-site' } }), `${what}, a sibling site`);
      // What an HTML form on another site can send: urlencoded, no preflight.
      const formBody = new URLSearchParams(body).toString();
      assertRefused(
        await victim.request(route.path.replace(/:(\w+)/g, 'a'.repeat(64)), { method: route.method, headers: { 'content-type': 'application/x-www-form-urlencoded', origin: evil }, body: formBody }),
        `${what}, cross-site form`,
      );
      // Even with our own Origin, a state change must be JSON.
      assertRefused(
        await victim.request(route.path.replace(/:(\w+)/g, 'a'.repeat(64)), { method: route.method, headers: { 'content-type': 'application/x-www-form-urlencoded', origin: harness.server.config.publicOrigin }, body: formBody }),
        `${what}, not JSON`,
      );
    }
  });

  it('gives the CSP report exemption nothing to act on: a forged form post or JSON call there is refused unread', async () => {
    const form = await victim.submit(cspReportPath, { displayName: 'Forged' }, { token: null, headers: { origin: evil, 'sec-fetch-site': 'cross-site' } });
    assert.equal(form.status, 415, 'only report content types are read');
    const json = await victim.request(cspReportPath, { method: 'POST', headers: { 'content-type': 'application/json', origin: evil }, body: '{"displayName":"Forged"}' });
    assert.equal(json.status, 415);
    assert.doesNotMatch(form.body + json.body, internalsPattern);
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const other = await victim.request(cspReportPath, { method, headers: { 'content-type': 'application/csp-report', origin: evil }, body: '{}' });
      assert.ok([403, 404, 405, 415].includes(other.status), `${method} ${cspReportPath} is outside the exemption: ${String(other.status)}`);
    }
  });

  it('let nothing through: the victim is still signed in, unchanged, and every refusal was logged and audited', async () => {
    assert.ok(await sessionExists(harness.server, victim.hashedSessionId));
    const me = await victim.api('GET', '/me');
    assert.equal(me.status, 200);
    const user = await findUser(harness.server, 'victim@example.com');
    assert.ok(user);
    assert.equal(user.display_name, null);
    assert.equal(user.disabled_at, null);
    await harness.client().signIn('victim@example.com', passwords.first);
    const refusals = harness.server.logs().filter((line) => line.msg === 'cross-site request refused');
    assert.ok(refusals.length >= routes.length * 5);
    const activity = await harness.server.server.accounts.listActivity(victimId, 200);
    assert.ok(activity.filter((event) => event.type === 'csrf_rejected').length >= 100);
  });

  it('accepts the same requests when this site sends them (the rule refuses forgeries only)', async () => {
    const visitor = harness.client();
    for (const route of routes) {
      let answer: TestResponse;
      if (isApi(route)) {
        answer = await visitor.api(route.method, samplePath(route).slice('/api/v1'.length), plausibleFields(route));
      } else {
        await visitor.get('/sign-in');
        answer = await visitor.submit(samplePath(route), plausibleFields(route));
      }
      assert.ok(!answer.body.includes(csrfMessage), `${route.method} ${route.path} passes the CSRF rule`);
    }
  });
});
