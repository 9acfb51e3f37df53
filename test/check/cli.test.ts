// test/check/cli.test.ts
// The `portcullis check` command as scripts and CI use it: exit codes (0 nothing fails at or above
// --fail-on, 1 something does, 2 the check could not run), --json, --sarif, and plain text when the
// output is not a terminal.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { useColour } from '../../src/check/output/text.js';
import { freePort } from '../helpers/pebble.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { startDefaultExpressApp, type FixtureServer } from '../fixtures/check/servers.js';
import { cleanProject, plantedProject, writeProject } from '../fixtures/check/projects.js';

const main = fileURLToPath(new URL('../../src/main.js', import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in a child process (never spawnSync: the servers under test share this event loop). */
function portcullis(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { env: { ...process.env, ...env }, timeout: 60_000, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

interface SarifLog {
  readonly version: string;
  readonly runs: readonly {
    readonly tool: { readonly driver: { readonly name: string; readonly rules: readonly { readonly id: string }[] } };
    readonly results: readonly { readonly ruleId: string; readonly level: string; readonly locations: readonly { readonly physicalLocation: { readonly artifactLocation: { readonly uri: string }; readonly region?: { readonly startLine: number } } }[] }[];
  }[];
}

describe('portcullis check on the command line', () => {
  let plain: FixtureServer;
  let portcullisServer: TestServer;
  let folder: string;
  let caFile: string;
  before(async () => {
    const port = await freePort();
    [plain, portcullisServer] = await Promise.all([startDefaultExpressApp(), startTestServer({ PORTCULLIS_HTTPS_PORT: String(port), PORTCULLIS_PUBLIC_URL: `https://127.0.0.1:${port}` })]);
    folder = await mkdtemp(path.join(tmpdir(), 'portcullis-check-cli-'));
    caFile = path.join(folder, 'portcullis.pem');
    await writeFile(caFile, portcullisServer.ca);
  });
  after(async () => {
    await Promise.all([plain.close(), portcullisServer.close()]);
    await rm(folder, { recursive: true, force: true });
  });

  it('exits 0 for Portcullis itself, with the practices in plain text when piped', async () => {
    const run = await portcullis(['check', portcullisServer.url, '--ca', caFile, '--http-port', new URL(portcullisServer.redirectUrl ?? '').port]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.match(run.stdout, /^ 9\. HTTPS only$/m);
    assert.match(run.stdout, /MDN HTTP Observatory .*: 1[3-9]\d points, A\+/);
    assert.match(run.stdout, /nothing fails at or above high\./);
    assert.ok(!run.stdout.includes('\u001b['), 'no colour when stdout is not a terminal');
    assert.equal(run.stderr, '', 'no progress line when stderr is not a terminal');
  });

  it('exits 1 for the default Express app, and 0 when only critical failures count', async () => {
    const high = await portcullis(['check', plain.url]);
    assert.equal(high.code, 1);
    assert.match(high.stdout, /FAIL high {2}The site answers over HTTPS \[https-available\]/);
    assert.match(high.stdout, /fail at or above high\./);
    const critical = await portcullis(['check', plain.url, '--fail-on', 'critical']);
    assert.equal(critical.code, 0);
  });

  it('writes the report as JSON with a summary against --fail-on', async () => {
    const run = await portcullis(['check', plain.url, '--json', '--fail-on', 'medium']);
    assert.equal(run.code, 1);
    const report = JSON.parse(run.stdout) as { target: { kind: string }; failOn: string; summary: { failingAtOrAbove: number }; findings: { id: string; practice: number; status: string }[] };
    assert.equal(report.target.kind, 'url');
    assert.equal(report.failOn, 'medium');
    assert.ok(report.summary.failingAtOrAbove > 0);
    assert.ok(report.findings.some((finding) => finding.id === 'cookie-name-reveals-stack' && finding.practice === 3 && finding.status === 'fail'));
  });

  it('writes SARIF 2.1.0 with a rule per failing id and file locations for projects', async () => {
    const project = await writeProject(plantedProject);
    try {
      const run = await portcullis(['check', '--project', project, '--sarif']);
      assert.equal(run.code, 1);
      const sarif = JSON.parse(run.stdout) as SarifLog;
      assert.equal(sarif.version, '2.1.0');
      const [only] = sarif.runs;
      assert.ok(only);
      assert.equal(only.tool.driver.name, 'portcullis-check');
      const ruleIds = only.tool.driver.rules.map((rule) => rule.id);
      for (const result of only.results) assert.ok(ruleIds.includes(result.ruleId));
      const session = only.results.find((result) => result.ruleId === 'express-session-name');
      assert.ok(session);
      assert.equal(session.level, 'warning', 'a medium failure below --fail-on high is a warning');
      assert.deepEqual(session.locations[0]?.physicalLocation.artifactLocation.uri, 'server.js');
      assert.equal(session.locations[0].physicalLocation.region?.startLine, 5);
      assert.equal(only.results.find((result) => result.ruleId === 'dockerfile-user')?.level, 'error');
    } finally {
      await rm(project, { recursive: true, force: true });
    }
  });

  it('exits 0 for a clean project folder', async () => {
    const project = await writeProject(cleanProject);
    try {
      const run = await portcullis(['check', '--project', project]);
      assert.equal(run.code, 0, run.stdout);
      assert.match(run.stdout, /Limits:/);
    } finally {
      await rm(project, { recursive: true, force: true });
    }
  });

  it('exits 2 with a clear message when the check cannot run', async () => {
    const closed = await freePort();
    const unreachable = await portcullis(['check', `http://127.0.0.1:${closed}/`, '--timeout', '2000']);
    assert.equal(unreachable.code, 2);
    assert.match(unreachable.stderr, /^portcullis check: the check could not run: could not reach the site: .*ECONNREFUSED/);
    assert.equal(unreachable.stdout, '');

    const badUrl = await portcullis(['check', 'ftp://127.0.0.1/']);
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.stderr, /only http:\/\/ and https:\/\/ URLs can be checked/);

    const noProject = await portcullis(['check', '--project', path.join(folder, 'missing')]);
    assert.equal(noProject.code, 2);
    assert.match(noProject.stderr, /cannot read .*missing: ENOENT/);

    const badCa = await portcullis(['check', plain.url, '--ca', path.join(folder, 'missing.pem')]);
    assert.equal(badCa.code, 2);
    assert.match(badCa.stderr, /cannot read --ca/);
  });

  it('exits 2 on usage errors and explains the right usage', async () => {
    for (const args of [['check'], ['check', plain.url, '--project', '.'], ['check', plain.url, '--fail-on', 'severe'], ['check', plain.url, '--http-port', '99999']]) {
      const run = await portcullis(args);
      assert.equal(run.code, 2, args.join(' '));
      assert.match(run.stderr, /Usage: portcullis check <url>/, args.join(' '));
    }
  });

  it('documents itself in --help and in the command list', async () => {
    const help = await portcullis(['check', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--probe-rate-limit/);
    assert.match(help.stdout, /Exit codes: 0 nothing fails/);
    const list = await portcullis(['--help']);
    assert.match(list.stdout, /^ {2}check {2,}audit a site/m);
  });
});

describe('colour in the text report', () => {
  it('is used on a terminal, and never when NO_COLOR is set, TERM is dumb, or output is piped', () => {
    assert.equal(useColour({ isTTY: true, env: {} }), true);
    assert.equal(useColour({ isTTY: true, env: { NO_COLOR: '1' } }), false);
    assert.equal(useColour({ isTTY: true, env: { TERM: 'dumb' } }), false);
    assert.equal(useColour({ isTTY: false, env: {} }), false);
    assert.equal(useColour({ env: {} }), false);
  });
});
