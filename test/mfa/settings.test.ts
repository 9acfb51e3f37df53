// test/mfa/settings.test.ts
// The two-step verification pages and API over real HTTPS and SMTP: enrolment shows the seed as
// an inline SVG QR code and as text and turns on only with a valid code; the recovery codes are
// shown once and downloadable once; the account page says how many are left; new codes, removal
// and every other change need a recent password and a recent second factor, invalidate what
// they replace, and are audited and emailed.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { errorOf, type WebClient } from '../web/support/client.js';
import { passwords, signedInUser, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';
import { editSession, enrolTotpByApi, enrolTotpByPages, expectStatus, nextTotpCode, recoveryCodesOnPage, secretOnPage, wrongTotpCode } from './support/web.js';

describe('two-step verification settings', () => {
  let harness: AccountsHarness;
  before(async () => {
    harness = await startAccountsHarness();
  });
  after(async () => {
    await harness.close();
  });

  describe('enrolment through the pages', () => {
    let client: WebClient;
    let secret: string;
    let codes: string[];
    const email = 'pages@example.com';
    before(async () => {
      client = await signedInUser(harness, email);
    });

    it('shows the seed as an inline SVG QR code and as text, and stays off until a valid code', async () => {
      const before = await client.get('/account/mfa');
      assert.match(before.body, /Two-step verification is <strong>off<\/strong>/);
      expectStatus(await client.submit('/account/mfa/totp', {}), 303, 'start');
      const setup = await client.get('/account/mfa/totp');
      assert.equal(setup.status, 200);
      // Inline SVG made on the server: no image to fetch, no data: URI, no script.
      assert.match(setup.body, /<div class="qr" role="img" aria-label="[^"]+"><svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+" shape-rendering="crispEdges"><path /);
      assert.doesNotMatch(setup.body, /<img|data:|<script/);
      secret = secretOnPage(setup.body);
      assert.match(secret, /^[A-Z2-7]{32}$/, '160 bits in base32');
      const wrong = await client.submit('/account/mfa/totp/confirm', { code: wrongTotpCode(secret) });
      assert.equal(wrong.status, 401);
      assert.match(wrong.body, /That code is not correct/);
      assert.ok(wrong.body.includes('id="totp-secret"'), 'the same setup page again');
      assert.match((await client.get('/account/mfa')).body, /is <strong>off<\/strong>/);
      const confirmed = await client.submit('/account/mfa/totp/confirm', { code: await nextTotpCode(secret) });
      assert.equal(confirmed.status, 303);
      assert.equal(confirmed.headers.location, '/account/mfa/recovery-codes');
    });

    it('shows the ten recovery codes once, and lets them be downloaded once as text', async () => {
      const shown = await client.get('/account/mfa/recovery-codes');
      codes = recoveryCodesOnPage(shown.body);
      assert.equal(codes.length, 10);
      assert.equal(new Set(codes).size, 10);
      assert.match(shown.body, /This is the only time they are shown/);
      const again = await client.get('/account/mfa/recovery-codes');
      assert.deepEqual(recoveryCodesOnPage(again.body), [], 'not shown twice');
      const download = await client.submit('/account/mfa/recovery-codes/download', {});
      assert.equal(download.status, 200);
      assert.match(String(download.headers['content-type']), /^text\/plain; charset=utf-8/);
      assert.equal(download.headers['content-disposition'], 'attachment; filename="recovery-codes.txt"');
      assert.equal(download.headers['cache-control'], 'no-store');
      for (const code of codes) assert.ok(download.body.includes(code));
      const second = await client.submit('/account/mfa/recovery-codes/download', {});
      assert.equal(second.status, 303, 'the download works once');
      // Nothing in the session in the clear meanwhile, and nothing stored but hashes.
      const stored = await harness.server.server.db.selectFrom('recovery_codes').select('code_hash').execute();
      for (const code of codes) assert.ok(stored.every((row) => !row.code_hash.includes(code.replace('-', ''))));
    });

    it('says on the account page that it is on and how many recovery codes are left', async () => {
      const account = await client.get('/account');
      assert.match(account.body, /On, with an authenticator app\./);
      assert.match(account.body, /<strong>10<\/strong> of 10 recovery codes left/);
      const settings = await client.get('/account/mfa');
      assert.match(settings.body, /Two-step verification is <strong>on<\/strong>/);
      assert.match(settings.body, /<strong id="recovery-codes-left">10 of 10<\/strong>/);
    });

    it('makes new recovery codes only after a recent second factor, and the old set stops working', async () => {
      // The second-factor proof from enrolment is fresh; make it old.
      await editSession(harness.server, client.hashedSessionId, (data) => {
        data.secondFactorAt = Date.now() - 11 * 60_000;
      });
      await client.get('/account/mfa');
      const refused = await client.submit('/account/mfa/recovery-codes', {});
      assert.equal(refused.status, 303);
      assert.equal(refused.headers.location, `/second-factor?return=${encodeURIComponent('/account/mfa')}`);
      const step = await client.get('/second-factor?return=%2Faccount%2Fmfa');
      assert.match(step.body, /Confirm it is you with your second factor/);
      const confirmed = await client.submit('/second-factor/recovery', { code: codes[0] ?? '', return: '/account/mfa' });
      assert.equal(confirmed.headers.location, '/account/mfa');
      await client.get('/account/mfa');
      const made = await client.submit('/account/mfa/recovery-codes', {});
      assert.equal(made.headers.location, '/account/mfa/recovery-codes');
      const fresh = recoveryCodesOnPage((await client.get('/account/mfa/recovery-codes')).body);
      assert.equal(fresh.length, 10);
      const user = await harness.server.server.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow();
      const mfa = harness.server.server.mfa;
      await assert.rejects(() => mfa.useRecoveryCode(user.id, codes[1], 'step_up', { ip: '127.0.0.1', userAgent: 't' }), 'an old code stops working');
      assert.deepEqual(await mfa.useRecoveryCode(user.id, fresh[0], 'step_up', { ip: '127.0.0.1', userAgent: 't' }), { remaining: 9 });
      codes = fresh.slice(1);
    });

    it('asks for the password first when it is not recent, then for the second factor', async () => {
      await editSession(harness.server, client.hashedSessionId, (data) => {
        data.reauthenticatedAt = Date.now() - 11 * 60_000;
        data.secondFactorAt = Date.now() - 11 * 60_000;
      });
      await client.get('/account/mfa');
      const refused = await client.submit('/account/mfa/totp/remove', {});
      assert.equal(refused.headers.location, `/reauthenticate?return=${encodeURIComponent('/account/mfa')}`);
      await client.get('/reauthenticate?return=%2Faccount%2Fmfa');
      const reauth = await client.submit('/reauthenticate', { password: passwords.first, return: '/account/mfa' });
      assert.equal(reauth.headers.location, '/account/mfa');
      await client.get('/account/mfa');
      const still = await client.submit('/account/mfa/totp/remove', {});
      assert.equal(still.headers.location, `/second-factor?return=${encodeURIComponent('/account/mfa')}`, 'a password alone is not enough');
      await client.get('/second-factor?return=%2Faccount%2Fmfa');
      expectStatus(await client.submit('/second-factor/recovery', { code: codes[0] ?? '', return: '/account/mfa' }), 303, 'step-up');
      await client.get('/account/mfa');
      const removed = await client.submit('/account/mfa/totp/remove', {});
      assert.equal(removed.headers.location, '/account/mfa');
      const after = await client.get('/account/mfa');
      assert.match(after.body, /The authenticator app is removed/);
      assert.match(after.body, /is <strong>off<\/strong>/);
    });

    it('emailed every change and audited it', async () => {
      // Mail goes out in the background: wait for each message.
      for (const subject of [/authenticator app was added/, /New recovery codes/, /A recovery code was used/, /authenticator app was removed/, /Two-step verification is off/]) {
        const message = await harness.smtp.waitForMessage(email, (candidate) => subject.test(candidate.subject), 10_000);
        assert.match(message.text, /\/account\/mfa/, 'with the way to review it');
      }
      const user = await harness.server.server.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow();
      const types = new Set((await harness.server.server.accounts.listActivity(user.id, 200)).map((event) => event.type));
      for (const type of ['totp_enabled', 'recovery_codes_generated', 'second_factor', 'totp_removed', 'mfa_disabled']) assert.ok(types.has(type), type);
      const page = await client.get('/account');
      assert.match(page.body, /Authenticator app turned on/);
      assert.match(page.body, /Two-step verification turned off/);
    });
  });

  describe('the same through the API', () => {
    let client: WebClient;
    let secret: string;
    const email = 'api-settings@example.com';
    before(async () => {
      client = await signedInUser(harness, email);
    });

    it('starts enrolment (secret and otpauthUrl), confirms it (recoveryCodes), and reports the state', async () => {
      const started = await client.api('POST', '/me/mfa/totp');
      assert.equal(started.status, 201);
      const body = started.json() as { secret: string; otpauthUrl: string };
      secret = body.secret;
      assert.equal(new URL(body.otpauthUrl).searchParams.get('secret'), secret);
      const wrong = await client.api('POST', '/me/mfa/totp/confirm', { code: wrongTotpCode(secret) });
      assert.equal(errorOf(wrong).code, 'MFA_CODE_INVALID');
      const confirmed = await client.api('POST', '/me/mfa/totp/confirm', { code: await nextTotpCode(secret) });
      assert.equal(confirmed.status, 200);
      assert.equal((confirmed.json() as { recoveryCodes: string[] }).recoveryCodes.length, 10);
      const status = (await client.api('GET', '/me/mfa')).json() as { enabled: boolean; totp: boolean; recoveryCodesRemaining: number; required: boolean };
      assert.deepEqual({ enabled: status.enabled, totp: status.totp, left: status.recoveryCodesRemaining, required: status.required }, { enabled: true, totp: true, left: 10, required: false });
      assert.equal(errorOf(await client.api('POST', '/me/mfa/totp')).code, 'MFA_ALREADY_ENABLED');
    });

    it('needs a recent password and a recent second factor to make new codes or remove the app', async () => {
      await editSession(harness.server, client.hashedSessionId, (data) => {
        data.reauthenticatedAt = Date.now() - 11 * 60_000;
      });
      assert.equal(errorOf(await client.api('POST', '/me/mfa/recovery-codes')).code, 'REAUTHENTICATION_REQUIRED');
      assert.equal(errorOf(await client.api('DELETE', '/me/mfa/totp')).code, 'REAUTHENTICATION_REQUIRED');
      expectStatus(await client.api('POST', '/me/reauthenticate', { password: passwords.first }), 204, 'reauthenticate');
      await editSession(harness.server, client.hashedSessionId, (data) => {
        data.secondFactorAt = Date.now() - 11 * 60_000;
      });
      assert.equal(errorOf(await client.api('POST', '/me/mfa/recovery-codes')).code, 'SECOND_FACTOR_REQUIRED');
      assert.equal(errorOf(await client.api('DELETE', '/me/mfa/totp')).code, 'SECOND_FACTOR_REQUIRED');
      const before = client.sessionId;
      expectStatus(await client.api('POST', '/auth/mfa/totp', { code: await nextTotpCode(secret) }), 200, 'step-up');
      assert.notEqual(client.sessionId, before, 'a step-up is a new session id too');
      const made = await client.api('POST', '/me/mfa/recovery-codes');
      assert.equal(made.status, 200);
      assert.equal((made.json() as { recoveryCodes: string[] }).recoveryCodes.length, 10);
      assert.equal((await client.api('DELETE', '/me/mfa/totp')).status, 204);
      assert.equal(((await client.api('GET', '/me/mfa')).json() as { enabled: boolean }).enabled, false);
      assert.equal(errorOf(await client.api('POST', '/me/mfa/recovery-codes')).code, 'NOT_FOUND', 'no codes without a factor');
    });

    it('takes the user\'s own session through enrolment only: another session of the account sees the result, not the seed', async () => {
      const other = harness.client();
      await other.apiSignIn(email, passwords.first);
      const started = (await client.api('POST', '/me/mfa/totp')).json() as { secret: string };
      const status = (await other.api('GET', '/me/mfa')).json() as Record<string, unknown>;
      assert.equal(status.totpPending, true);
      assert.ok(!JSON.stringify(status).includes(started.secret));
      expectStatus(await client.api('DELETE', '/me/mfa/totp'), 204, 'cancel the enrolment');
    });
  });

  it('uses the enrolment helpers the other suites rely on', async () => {
    const pages = await signedInUser(harness, 'helpers-pages@example.com');
    assert.equal((await enrolTotpByPages(pages)).recoveryCodes.length, 10);
    const api = await signedInUser(harness, 'helpers-api@example.com');
    assert.equal((await enrolTotpByApi(api)).recoveryCodes.length, 10);
  });
});
