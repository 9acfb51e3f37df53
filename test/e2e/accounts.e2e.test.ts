// test/e2e/accounts.e2e.test.ts
// A person in headless Chromium, with JavaScript switched off (every page must work without it):
// signs up, opens the emailed link, signs in, changes the password, ends a session another client
// opened through the API, and signs out. Every page is saved as a screenshot in test-artifacts/e2e/,
// the account page at a phone's width too, and no page may log an error (a CSP violation would).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.js';
import { passwords, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';

const email = 'e2e.person@example.com';
const folder = 'e2e';
const apiUserAgent = 'PortcullisSyncClient/2.1 (Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15)';

describe('accounts end to end in Chromium', () => {
  let harness: AccountsHarness;
  let browser: TestBrowser;
  before(async () => {
    // The public URL is the server's real address: emailed links open as they are.
    harness = await startAccountsHarness({}, { publicUrlIsReal: true });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser.close();
    await harness.close();
  });

  it('signs up, verifies, signs in, changes the password, revokes another session and signs out', async () => {
    const { page } = browser;
    const origin = harness.server.config.publicOrigin;
    let shot = 0;
    const capture = async (name: string) => screenshot(page, folder, `${String((shot += 1)).padStart(2, '0')}-${name}`);

    // Home, then sign up.
    await page.goto(`${origin}/`);
    assert.equal(await page.title(), 'Welcome · Portcullis');
    await capture('home');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL(`${origin}/sign-up`);
    await capture('sign-up');
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Name (optional)').fill('Eden Example');
    await page.getByLabel('Password').fill(passwords.first);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${origin}/check-email`);
    await capture('check-your-email');

    // The link from the real email, opened as it is: the page only asks for a click.
    const { link } = await harness.linkFromEmail(email, '/verify-email');
    assert.equal(link.origin, origin);
    await page.goto(link.href);
    await capture('verify-email');
    await page.getByRole('button', { name: 'Confirm my email address' }).click();
    await page.waitForURL(`${origin}/sign-in`);
    assert.match(await page.locator('.notice[role="status"]').innerText(), /Your email address is confirmed/);
    await capture('sign-in');

    // Sign in.
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password').fill(passwords.first);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${origin}/account`);
    assert.match(await page.locator('h1').innerText(), /Your account/);
    await capture('account');

    // Change the password (the sign-in just proved it, so no second prompt).
    await page.getByLabel('Current password').fill(passwords.first);
    await page.getByLabel('New password').fill(passwords.second);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForURL(`${origin}/account`);
    assert.match(await page.locator('.notice[role="status"]').innerText(), /Your password is changed/);
    await capture('password-changed');

    // A second client signs in through the API; the browser sees it and ends it.
    const apiClient = harness.client({ userAgent: apiUserAgent });
    await apiClient.apiSignIn(email, passwords.second);
    assert.equal((await apiClient.api('GET', '/me')).status, 200);
    await page.reload();
    const otherRow = page.locator('tbody tr', { hasText: 'Safari 17 on macOS' });
    assert.equal(await otherRow.count(), 1);
    assert.equal(await page.locator('tbody tr.current', { hasText: 'this device' }).count(), 1);
    await capture('sessions');
    await otherRow.getByRole('button', { name: /^Sign out Safari 17 on macOS/ }).click();
    await page.waitForURL(`${origin}/account`);
    assert.match(await page.locator('.notice[role="status"]').innerText(), /That session is signed out/);
    assert.equal(await page.locator('tbody tr', { hasText: 'Safari 17 on macOS' }).count(), 0);
    assert.equal((await apiClient.api('GET', '/me')).status, 401, 'the revoked API session stops at once');
    await capture('session-revoked');

    // The account page at a phone's width.
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, folder, `${String((shot += 1)).padStart(2, '0')}-account-mobile`);
    await page.setViewportSize({ width: 1280, height: 900 });

    // Sign out, and the account is closed to this browser.
    await page.getByRole('button', { name: 'Sign out', exact: true }).first().click();
    await page.waitForURL(`${origin}/`);
    assert.match(await page.locator('.notice[role="status"]').innerText(), /You are signed out/);
    await capture('signed-out');
    await page.goto(`${origin}/account`);
    await page.waitForURL(`${origin}/sign-in`);

    assert.deepEqual(browser.consoleErrors, [], 'no page logged an error (CSP violations included)');
    const cookies = await browser.context.cookies(origin);
    const session = cookies.find((cookie) => cookie.name === harness.server.config.session.cookieName);
    if (session !== undefined) {
      assert.equal(session.secure, true);
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Lax');
    }
  });
});
