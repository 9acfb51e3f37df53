// test/e2e/quickstart.e2e.test.ts
// The README's promise: on a fresh checkout, `npm start` alone gives a server at
// https://localhost:8443 whose pages load in Chromium, with the strict CSP intact (no console
// error) and the plain-HTTP listener on 8080 redirecting to it. Uses the real default ports.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.js';
import { request } from '../helpers/https-client.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const artifacts = path.join(root, 'test-artifacts', 'e2e', 'quickstart');

describe('the README quickstart (npm start)', () => {
  let child: ChildProcess;
  let dataDir: string;
  let browser: TestBrowser;
  let output = '';

  before(async () => {
    // Only the data directory is moved out of the checkout; everything else is the default.
    dataDir = await mkdtemp(path.join(tmpdir(), 'portcullis-quickstart-'));
    child = spawn('npm', ['start'], {
      cwd: root,
      env: { ...process.env, PORTCULLIS_DATA_DIR: dataDir, NODE_ENV: 'development', PORTCULLIS_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 90_000;
    while (!output.includes('is listening on')) {
      if (Date.now() > deadline || child.exitCode !== null) assert.fail(`npm start did not come up:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    browser = await launchBrowser({ javaScriptDisabled: false });
  });

  after(async () => {
    await browser.close();
    // npm start spawns node; end the whole process group.
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
    await new Promise((resolve) => {
      child.once('exit', resolve);
      setTimeout(resolve, 15_000);
    });
    await rm(dataDir, { recursive: true, force: true });
  });

  it('says where it listens', () => {
    assert.match(output, /is listening on https:\/\/127\.0\.0\.1:8443 \(public URL https:\/\/localhost:8443\)/);
  });

  it('serves the home page at https://localhost:8443 to Chromium, styled, with no console error', async () => {
    const response = await browser.page.goto('https://localhost:8443/');
    assert.equal(response?.status(), 200);
    assert.match(await browser.page.title(), /Portcullis/);
    // The stylesheet from self loaded: the page body is laid out by it.
    const display = await browser.page.evaluate(() => getComputedStyle(document.body).display);
    assert.equal(display, 'flex');
    await screenshot(browser.page, artifacts, 'home');
    await browser.page.goto('https://localhost:8443/sign-in');
    assert.ok(await browser.page.locator('input[type="password"]').count());
    await screenshot(browser.page, artifacts, 'sign-in');
    assert.deepEqual(browser.consoleErrors, []);
  });

  it('redirects plain HTTP on 8080 to the HTTPS origin', async () => {
    const response = await request('http://127.0.0.1:8080', '/sign-in');
    assert.equal(response.status, 301);
    assert.equal(response.headers.location, 'https://localhost:8443/sign-in');
  });
});
