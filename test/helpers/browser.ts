// test/helpers/browser.ts
// Debian's Chromium driven by playwright-core, headless, with a fresh profile and the flags that
// work on the build machines (docs: build-machine-notes). Never downloads a browser.

import { createHash, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const chromiumPath = process.env.PORTCULLIS_CHROMIUM ?? '/usr/bin/chromium';

const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface TestBrowser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Messages the page logged as errors (a CSP violation shows up here). */
  readonly consoleErrors: string[];
  close(): Promise<void>;
}

export interface BrowserOptions {
  /** Run with scripts off, to prove the pages work without them. Default true. */
  readonly javaScriptDisabled?: boolean;
  readonly viewport?: { readonly width: number; readonly height: number };
  /**
   * The test server's certificate (PEM), for tests of what the browser sends on its own, outside
   * any page: Reporting API uploads (CSP report-to). ignoreHTTPSErrors covers only requests pages
   * make, so such an upload over a new connection fails the self-signed certificate, and Chromium
   * retries it once a minute, failing each time. This trusts that one key in the whole browser
   * (--ignore-certificate-errors-spki-list) and delivers reports within 100 ms of being queued
   * (--short-reporting-delay) instead of on the Reporting API's one-minute schedule.
   */
  readonly reportsTo?: string;
}

/** The flags that let the browser deliver reports to the server holding this certificate at once. */
function reportingFlags(certificate: string): string[] {
  const spki = new X509Certificate(certificate).publicKey.export({ type: 'spki', format: 'der' });
  return [`--ignore-certificate-errors-spki-list=${createHash('sha256').update(spki).digest('base64')}`, '--short-reporting-delay'];
}

export async function launchBrowser(options: BrowserOptions = {}): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(tmpdir(), 'portcullis-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: options.reportsTo === undefined ? flags : [...flags, ...reportingFlags(options.reportsTo)],
    // The test server's certificate is self-signed; this trusts nothing beyond this context.
    ignoreHTTPSErrors: true,
    javaScriptEnabled: options.javaScriptDisabled === false,
    viewport: options.viewport ?? { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  return {
    context,
    page,
    consoleErrors,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot as test-artifacts/<folder>/<name>.png (git-ignored). */
export async function screenshot(page: Page, folder: string, name: string): Promise<string> {
  const directory = path.resolve('test-artifacts', folder);
  await mkdir(directory, { recursive: true });
  const file = path.join(directory, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
