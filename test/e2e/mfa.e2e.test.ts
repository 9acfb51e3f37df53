// test/e2e/mfa.e2e.test.ts
// Two-step verification in headless Chromium with scripts on: a person turns on an authenticator
// app by reading the setup key from the page and computing a code, saves the recovery codes,
// signs out and back in with a code, adds a passkey with the DevTools protocol's virtual
// authenticator, signs in with the passkey alone, and finally uses a recovery code. The passkey
// scripts load from this origin with Subresource Integrity under the strict CSP: any violation
// would show up as a console error. Screenshots of each step go to test-artifacts/e2e/mfa/.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CDPSession, Page } from 'playwright-core';
import { launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.js';
import { passwords, signUpAndVerify, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';
import { nextTotpCode } from '../mfa/support/web.js';

const email = 'e2e.mfa@example.com';
const folder = 'e2e/mfa';

describe('two-step verification end to end in Chromium', () => {
  let harness: AccountsHarness;
  let browser: TestBrowser;
  let cdp: CDPSession;
  let authenticatorId: string;
  before(async () => {
    // https://localhost:PORT: a secure context and a domain for the RP id, as WebAuthn requires.
    harness = await startAccountsHarness({}, { publicUrlIsReal: true });
    await signUpAndVerify(harness, email);
    browser = await launchBrowser({ javaScriptDisabled: false });
    cdp = await browser.context.newCDPSession(browser.page);
    await cdp.send('WebAuthn.enable');
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    }));
  });
  after(async () => {
    await browser.close();
    await harness.close();
  });

  it('enrols TOTP, signs in with a code, adds a passkey, signs in with it alone, and uses a recovery code', async () => {
    const { page } = browser;
    const origin = harness.server.config.publicOrigin;
    let shot = 0;
    const capture = async (name: string) => screenshot(page, folder, `${String((shot += 1)).padStart(2, '0')}-${name}`);
    const signOut = async () => {
      await page.getByRole('button', { name: 'Sign out', exact: true }).first().click();
      await page.waitForURL(`${origin}/`);
    };
    const password = async () => {
      await page.goto(`${origin}/sign-in`);
      await page.getByLabel('Email address').fill(email);
      await page.getByLabel('Password').fill(passwords.first);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    };

    // Sign in with the password and open the two-step verification page.
    await password();
    await page.waitForURL(`${origin}/account`);
    await page.goto(`${origin}/account/mfa`);
    assert.match(await page.locator('.lead').innerText(), /Two-step verification is off/);
    await capture('settings-off');

    // Authenticator app: the QR code is inline SVG, the key is text on the page.
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await page.waitForURL(`${origin}/account/mfa/totp`);
    assert.equal(await page.locator('.qr svg path').count() >= 1, true, 'an inline SVG QR code');
    const secret = (await page.locator('#totp-secret').innerText()).replace(/\s+/g, '');
    assert.match(secret, /^[A-Z2-7]{32}$/);
    await capture('totp-setup');
    await page.getByLabel('Code', { exact: true }).fill(await nextTotpCode(secret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.waitForURL(`${origin}/account/mfa/recovery-codes`);
    const codes = await page.locator('ol.recovery-codes code').allInnerTexts();
    assert.equal(codes.length, 10);
    await capture('recovery-codes');
    // The one download, as a file.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download as a text file' }).click()]);
    assert.equal(download.suggestedFilename(), 'recovery-codes.txt');
    await page.goto(`${origin}/account/mfa/recovery-codes`);
    await page.getByRole('link', { name: 'Back to two-step verification' }).click();
    await page.waitForURL(`${origin}/account/mfa`);
    assert.match(await page.locator('.lead').innerText(), /Two-step verification is on/);
    await capture('settings-on');

    // Out, and back in: password, then a code.
    await signOut();
    await password();
    await page.waitForURL(`${origin}/second-factor`);
    await capture('second-factor');
    await page.getByLabel('Code', { exact: true }).fill(await nextTotpCode(secret));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${origin}/account`);
    assert.match(await page.locator('#mfa-heading + p').innerText(), /On, with an authenticator app/);
    await capture('signed-in-with-totp');

    // A passkey, made by Chromium's virtual authenticator through the page's own script.
    await page.goto(`${origin}/account/mfa`);
    const scripts = await page.locator('script[src]').evaluateAll((elements) => elements.map((element) => ({ src: element.getAttribute('src'), integrity: element.getAttribute('integrity') })));
    assert.ok(scripts.length === 2 && scripts.every((script) => script.src?.startsWith('/assets/') === true && /^sha384-[A-Za-z0-9+/]{64}$/.test(script.integrity ?? '')), JSON.stringify(scripts));
    await page.getByLabel('Name for the new passkey').fill('Chromium test key');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await arrivedOrSaid(page, `${origin}/account/mfa`, '#passkey-add-status');
    await page.locator('tbody tr', { hasText: 'Chromium test key' }).waitFor();
    const stored = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
    assert.equal(stored.length, 1);
    assert.equal(stored[0]?.isResidentCredential, true, 'a discoverable credential');
    await capture('passkey-added');

    // Signing in with the passkey alone.
    await signOut();
    await page.goto(`${origin}/sign-in`);
    await capture('sign-in-with-passkey-offered');
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await arrivedOrSaid(page, `${origin}/account`, '#passkey-sign-in-status');
    assert.equal(await page.locator('.lead').first().innerText(), `Signed in as ${email}.`);
    await capture('signed-in-with-passkey');
    const list = await page.goto(`${origin}/account/mfa`);
    assert.equal(list?.status(), 200);
    assert.doesNotMatch(await page.locator('tr', { hasText: 'Chromium test key' }).innerText(), /never/, 'its last use is recorded');

    // A recovery code, the way someone who lost both would get in.
    await signOut();
    await password();
    await page.waitForURL(`${origin}/second-factor`);
    await page.getByText('Use a recovery code instead').click();
    await page.getByRole('textbox', { name: 'Recovery code' }).fill(codes[0] ?? '');
    await capture('recovery-code');
    await page.getByRole('button', { name: 'Use recovery code' }).click();
    await page.waitForURL(`${origin}/account`);
    assert.match(await page.locator('[role="status"]').innerText(), /Recovery code accepted/);
    assert.match(await page.locator('#mfa-heading ~ p strong').first().innerText(), /^9$/);
    await capture('signed-in-with-recovery-code');

    assert.deepEqual(browser.consoleErrors, [], 'no page logged an error (CSP and SRI violations included)');
  });
});


/**
 * Waits for the passkey script to navigate to `url`; when it does not, fails with what the
 * page's passkey status line said (the script writes its error there), not a bare timeout.
 */
async function arrivedOrSaid(page: Page, url: string, statusSelector: string): Promise<void> {
  try {
    await page.waitForURL(url, { timeout: 45_000 });
  } catch (error) {
    const said = await page.locator(statusSelector).allInnerTexts().catch(() => []);
    throw new Error(`the passkey flow stayed on ${page.url()}; its status said: ${JSON.stringify(said)}`, { cause: error });
  }
}
