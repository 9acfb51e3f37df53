// test/e2e/dashboard.e2e.test.ts
// The security dashboard in headless Chromium with JavaScript off: an administrator signs in,
// opens /admin/security over a month of seeded security events, sees the SVG charts and the
// numbers, filters the events with the form, and nothing on the way logs an error (a CSP
// violation would). Screenshots: test-artifacts/e2e/dashboard.png and dashboard-filtered.png.
// Then a real CSP violation, in a second browser with scripts on, reaches the report endpoint
// the policy names, is stored without its query string, and shows on the dashboard. Chromium
// sends it with the Reporting API (report-to wins over report-uri when both are there); that
// browser trusts the test server's key for its own uploads too (helpers/browser.ts, reportsTo).

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createAuditTrail } from '../../src/accounts/audit.js';
import { auditChainKey } from '../../src/observability/audit-chain.js';
import { createLogger } from '../../src/observability/logger.js';
import { hourOf } from '../../src/observability/security-signals.js';
import { cspReportPath } from '../../src/web/routes/csp-reports.js';
import { launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.js';
import { passwords, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';

const hour = 3_600_000;

/** A deterministic month of traffic: more failures at night, an attack burst two hours ago. */
async function seed(harness: AccountsHarness): Promise<void> {
  const server = harness.server.server;
  const silent = createLogger({
    level: 'silent',
    pretty: false,
    destination: new Writable({
      write: (_chunk, _encoding, done) => {
        done();
      },
    }),
  });
  let clock = Date.now() - 30 * 24 * hour;
  const trail = createAuditTrail(server.db, silent, () => clock, auditChainKey(harness.server.config.masterKey));
  const networks = ['203.0.113.', '198.51.100.', '192.0.2.', '2001:db8:7::'];
  let sequence = 0;
  const next = () => (sequence = (sequence * 1_103_515_245 + 12_345) % 2_147_483_648);
  for (let at = clock; at < Date.now() - hour; at += 2 * hour) {
    clock = at;
    const hourOfDay = new Date(at).getUTCHours();
    const successes = 2 + (next() % 5);
    const failures = (hourOfDay < 6 ? 3 : 0) + (next() % 3);
    for (let index = 0; index < successes; index += 1) {
      await trail.record({ type: 'sign_in', outcome: 'success', actorId: null, subjectId: null, ip: `198.51.100.${String(next() % 250)}`, userAgent: 'seed', detail: null });
    }
    for (let index = 0; index < failures; index += 1) {
      const network = networks[next() % networks.length] ?? '203.0.113.';
      await trail.record({ type: 'sign_in', outcome: 'failure', actorId: null, subjectId: null, ip: `${network}${String(1 + (next() % 200))}`, userAgent: 'seed', detail: { reason: 'wrong_password' } });
    }
  }
  // The burst: a credential-stuffing wave from one network, throttled accounts, failed codes.
  clock = Date.now() - 2 * hour;
  for (let index = 0; index < 40; index += 1) {
    await trail.record({ type: 'sign_in', outcome: 'failure', actorId: null, subjectId: null, ip: `203.0.113.${String(10 + (index % 30))}`, userAgent: 'stuffer', detail: { reason: index % 4 === 0 ? 'account_throttled' : 'wrong_password' } });
  }
  for (let index = 0; index < 3; index += 1) {
    await trail.record({ type: 'sign_in_throttled', outcome: 'failure', actorId: null, subjectId: `00000000-0000-4000-8000-00000000000${String(index)}`, ip: '203.0.113.10', userAgent: 'stuffer', detail: { failures: 5 } });
    await trail.record({ type: 'second_factor', outcome: 'failure', actorId: null, subjectId: null, ip: '203.0.113.11', userAgent: 'stuffer', detail: { method: index === 0 ? 'recovery_code' : 'totp', reason: 'wrong_code' } });
  }
  // Rate-limited requests are not audited; the dashboard reads their hourly counts.
  for (const [hoursAgo, limiter, events] of [[5, 'general', 12], [2, 'auth', 31], [2, 'general', 4], [1, 'auth', 9]] as const) {
    await server.db.insertInto('security_rollup').values({ hour: hourOf(Date.now() - hoursAgo * hour), metric: 'rate_limited', label: limiter, events }).execute();
  }
}

describe('security dashboard in Chromium', () => {
  let harness: AccountsHarness;
  let browser: TestBrowser;
  before(async () => {
    harness = await startAccountsHarness({ PORTCULLIS_MFA_REQUIRED: 'none' }, { publicUrlIsReal: true });
    await harness.server.server.accounts.createUser({ email: 'security.lead@example.com', password: passwords.first, role: 'admin', emailVerified: true, displayName: 'Security Lead' });
    await seed(harness);
    browser = await launchBrowser({ viewport: { width: 1366, height: 900 } });
  });
  after(async () => {
    await browser.close();
    await harness.close();
  });

  it('shows the charts and figures without script, filters events, and logs no error', async () => {
    const { page } = browser;
    const origin = harness.server.config.publicOrigin;
    await page.goto(`${origin}/sign-in?return=${encodeURIComponent('/admin/security')}`);
    await page.getByLabel('Email address').fill('security.lead@example.com');
    await page.getByLabel('Password').fill(passwords.first);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${origin}/admin/security`);
    assert.equal(await page.title(), 'Security · Portcullis');

    // The charts are drawn and sized by the page's own stylesheet.
    const charts = page.locator('svg.chart-svg');
    assert.ok((await charts.count()) >= 6, 'four column charts and the bar lists');
    const hourly = page.getByRole('img', { name: /Sign-ins per hour, last 24 hours/ });
    const box = await hourly.boundingBox();
    assert.ok(box !== null && box.width > 500 && box.height > 100, `the hourly chart is laid out (${JSON.stringify(box)})`);
    assert.ok((await page.locator('svg.chart-svg rect').count()) > 60, 'columns are drawn');
    assert.match(await page.locator('#sources-heading + p + svg').innerHTML(), /203\.0\.113\.0\/24/);
    assert.match(await page.locator('.stats').innerText(), /Throttled accounts/);
    assert.equal(await page.locator('.stat', { hasText: 'Throttled accounts' }).locator('.stat-value').innerText(), '3');
    await screenshot(page, 'e2e', 'dashboard');

    // Filter the events with the form: failed second factors only.
    await page.getByLabel('Type').selectOption('second_factor');
    await page.getByLabel('Outcome').selectOption('failure');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/\/admin\/security\?type=second_factor&outcome=failure/);
    const rows = page.locator('table.events tbody tr');
    assert.equal(await rows.count(), 3);
    for (const text of await rows.allInnerTexts()) assert.match(text, /Wrong or refused second-factor code/);
    await page.locator('#events').scrollIntoViewIfNeeded();
    await screenshot(page, 'e2e', 'dashboard-filtered');

    assert.deepEqual(browser.consoleErrors, [], 'no console error: no CSP violation, nothing failed to load');
  });

  it("receives a real browser's CSP violation report and counts it on the dashboard", async (t) => {
    const origin = harness.server.config.publicOrigin;
    const reportsShown = async () => browser.page.locator('.stat', { hasText: 'CSP reports' }).locator('.stat-value').innerText();
    await browser.page.goto(`${origin}/admin/security`);
    assert.equal(await reportsShown(), '0');

    const scripted = await launchBrowser({ javaScriptDisabled: false, reportsTo: harness.server.ca });
    try {
      await scripted.page.goto(`${origin}/sign-in`);
      // Browsers upload reports over any connection they have, or a new one. Close the idle ones,
      // so the report always takes a connection the browser opens for it (as in the field, where
      // the page's own connection has long timed out), not whichever happens to be left open.
      harness.server.server.mainServer.closeIdleConnections();
      // An image from elsewhere, as injected markup would load it: img-src 'self' blocks it.
      await scripted.page.evaluate(() => {
        const image = document.createElement('img');
        image.src = 'https://blocked.example/pixel.png?session=stolen';
        document.body.append(image);
      });
      const violatedAt = Date.now();
      assert.ok(scripted.consoleErrors.some((message) => /violates the following Content Security Policy directive: "img-src 'self'"/.test(message)));
      const [report, ...others] = await waitForReports(harness);
      assert.ok(report !== undefined, `the browser sent a report within 90 seconds (the server's answers to report uploads: ${reportAnswers(harness)})`);
      t.diagnostic(`report stored ${String(Date.now() - violatedAt)} ms after the violation`);
      assert.deepEqual(others, [], 'one violation, one report');
      assert.equal(report.directive, 'img-src');
      assert.equal(report.document_url, `${origin}/sign-in`);
      assert.equal(report.blocked_url, 'https://blocked.example/pixel.png', 'stored without its query string');
    } finally {
      await scripted.close();
    }
    await browser.page.reload();
    assert.equal(await reportsShown(), '1');
  });
});

/** The statuses the server answered report uploads with, for a failure message: "none" if none came. */
function reportAnswers(harness: AccountsHarness): string {
  const answers = harness.server.logs().filter((line) => line.msg === 'request' && line.method === 'POST' && line.path === cspReportPath);
  return answers.length === 0 ? 'none' : answers.map((line) => String(line.status)).join(', ');
}

/** The stored CSP reports, once there is one (browsers send them in the background; bounded wait). */
async function waitForReports(harness: AccountsHarness) {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const rows = await harness.server.server.db.selectFrom('csp_reports').selectAll().execute();
    if (rows.length > 0 || Date.now() > deadline) return rows;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
