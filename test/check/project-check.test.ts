// test/check/project-check.test.ts
// `portcullis check --project` on folders with planted problems, on a clean one, on a bare one, and
// on this repository, which must pass at high.

import assert from 'node:assert/strict';
import { rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Finding } from '../../src/check/finding.js';
import { runProjectCheck } from '../../src/check/project-check.js';
import { auditFinding } from '../../src/check/project/audit.js';
import { failingFindings, type Report } from '../../src/check/report.js';
import { bareProject, cleanProject, plantedProject, writeProject } from '../fixtures/check/projects.js';
import { flagged, statuses } from './report-helpers.js';

/** The day the end-of-life expectations below were written for. */
const now = new Date('2026-11-29T12:00:00Z');
const options = { online: false, runEslint: false, toolTimeoutMs: 60_000, now };

function finding(report: Report, id: string): Finding {
  const found = report.findings.find((candidate) => candidate.id === id);
  assert.ok(found, `no finding ${id}`);
  return found;
}

describe('project check of a folder with a planted problem for every check', () => {
  let folder: string;
  let report: Report;
  before(async () => {
    // Everything committed except the lockfile.
    folder = await writeProject(plantedProject, { commit: Object.keys(plantedProject).filter((file) => file !== 'package-lock.json') });
    report = await runProjectCheck(folder, options);
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('reports every planted problem and nothing else', () => {
    assert.deepEqual(
      flagged(report),
      [
        'dockerfile-user',
        'eslint-security-plugin',
        'express-helmet',
        'express-plain-http',
        'express-session-name',
        'lockfile-committed',
        'lockfile-https',
        'lockfile-integrity',
        'node-version-docker',
        'node-version-engines',
        'node-version-nvmrc',
        'systemd-user',
      ].sort(),
    );
  });

  it('fails at high for root, end-of-life Node.js and plain-http package downloads', () => {
    const high = failingFindings(report, 'high')
      .map((item) => item.id)
      .sort();
    assert.deepEqual(high, ['dockerfile-user', 'lockfile-https', 'node-version-docker', 'node-version-engines', 'node-version-nvmrc', 'systemd-user']);
  });

  it('says where each problem is', () => {
    assert.deepEqual(finding(report, 'express-session-name').locations, [{ file: 'server.js', line: 5 }]);
    assert.deepEqual(finding(report, 'express-plain-http').locations, [{ file: 'server.js', line: 8 }]);
    assert.deepEqual(finding(report, 'systemd-user').locations, [{ file: 'planted.service', line: 6 }]);
    assert.match(finding(report, 'lockfile-https').evidence, /express \(http:\/\/registry/);
    assert.match(finding(report, 'lockfile-integrity').evidence, /1 without integrity: express-session; 1 not sha512: old-thing \(sha1\)/);
    assert.match(finding(report, 'node-version-nvmrc').evidence, /lts\/hydrogen.*Node\.js 18/);
    assert.match(finding(report, 'node-version-docker').evidence, /FROM node:18-alpine \(Node\.js 18\) \[final stage\]/);
    assert.match(finding(report, 'lockfile-committed').evidence, /not committed/);
  });

  it('states the limits of its static reading in the evidence', () => {
    assert.match(finding(report, 'express-helmet').evidence, /static reading of 1 production source file/);
  });
});

describe('project check of a clean folder', () => {
  let folder: string;
  let report: Report;
  before(async () => {
    folder = await writeProject(cleanProject);
    report = await runProjectCheck(folder, options);
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('passes every check it can run', () => {
    assert.deepEqual(flagged(report), []);
    const status = statuses(report);
    for (const id of [
      'lockfile-committed',
      'lockfile-https',
      'lockfile-integrity',
      'node-version-engines',
      'node-version-nvmrc',
      'node-version-docker',
      'dockerfile-user',
      'systemd-user',
      'eslint-security-plugin',
      'express-session-name',
      'express-plain-http',
      'express-helmet',
    ]) {
      assert.equal(status.get(id), 'pass', `${id}: ${finding(report, id).evidence}`);
    }
  });

  it('leaves npm audit and ESLint unrun unless asked, and says so', () => {
    assert.equal(finding(report, 'npm-audit').status, 'not-checked');
    assert.match(finding(report, 'npm-audit').fix, /--online/);
    assert.equal(finding(report, 'eslint-security-findings').status, 'not-checked');
  });

  it('does not count test code or comments as production code', () => {
    // test/app.test.js calls session() without a name and app.listen(); src/app.js mentions session({ secret }) in a comment.
    assert.match(finding(report, 'express-session-name').evidence, /src\/app\.js:10 set name/);
  });

  it('resolves a build argument in FROM and follows the final stage', () => {
    assert.match(finding(report, 'node-version-docker').evidence, /node:24\.11\.1-bookworm-slim \(Node\.js 24\)/);
    assert.match(finding(report, 'dockerfile-user').evidence, /Dockerfile:12: USER node/);
  });
});

describe('project check of a bare folder and of a folder that is not a project', () => {
  it('reports what it could not check instead of passing it', async () => {
    const folder = await writeProject(bareProject, {});
    try {
      const report = await runProjectCheck(folder, options);
      const status = statuses(report);
      assert.equal(status.get('lockfile-committed'), 'fail');
      for (const id of ['lockfile-https', 'lockfile-integrity', 'node-version', 'dockerfile-user', 'systemd-user', 'express-session-name', 'express-plain-http', 'express-helmet']) {
        assert.equal(status.get(id), 'not-checked', id);
      }
      assert.equal(status.get('eslint-security-plugin'), 'fail');
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('refuses a folder without package.json', async () => {
    const folder = await writeProject({ 'README.md': '# not a project\n' }, {});
    try {
      await assert.rejects(runProjectCheck(folder, options), { name: 'CheckCannotRun', message: /no package\.json/ });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('running the project\'s ESLint (--eslint)', () => {
  it('reports what eslint-plugin-security finds, with file and line', async () => {
    const folder = await writeProject(cleanProject);
    try {
      // This repository's ESLint and security plugin stand in for the project's own install.
      await symlink(fileURLToPath(new URL('../../../node_modules', import.meta.url)), path.join(folder, 'node_modules'), 'dir');
      await writeFile(path.join(folder, 'src', 'files.js'), "import { readFileSync } from 'node:fs';\nexport const read = (name) => readFileSync(name, 'utf8');\n");
      const report = await runProjectCheck(folder, { ...options, runEslint: true });
      const result = finding(report, 'eslint-security-findings');
      assert.equal(result.status, 'fail', result.evidence);
      assert.match(result.evidence, /src\/files\.js:2 security\/detect-non-literal-fs-filename/);
      assert.deepEqual(result.locations, [{ file: 'src/files.js', line: 2 }]);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('npm audit results', () => {
  it('never reports zero vulnerabilities when the advisory service does not answer', () => {
    const refused = JSON.stringify({ message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk', statusCode: 405, error: { summary: '', detail: '' } });
    const result = auditFinding(refused, 'npm error audit endpoint returned an error');
    assert.equal(result.status, 'not-checked');
    assert.match(result.evidence, /405 Method Not Allowed.*not zero/);
    assert.equal(auditFinding('', 'npm ERR! network').status, 'not-checked');
  });

  it('fails at the worst severity found, and passes only on a real answer of zero', () => {
    const answer = (counts: Record<string, number>) => JSON.stringify({ metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, ...counts } }, vulnerabilities: { 'some-lib': { severity: 'high' } } });
    const high = auditFinding(answer({ high: 2, low: 1 }), '');
    assert.equal(high.status, 'fail');
    assert.equal(high.severity, 'high');
    assert.match(high.evidence, /2 high, 1 low: some-lib \(high\)/);
    assert.equal(auditFinding(answer({ moderate: 1 }), '').severity, 'medium');
    assert.equal(auditFinding(answer({}), '').status, 'pass');
  });
});

describe('project check of this repository', () => {
  it('finds nothing at or above high', async () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const report = await runProjectCheck(root, { ...options, now: new Date() });
    const failing = failingFindings(report, 'high');
    assert.deepEqual(
      failing.map((item) => `${item.id}: ${item.evidence}`),
      [],
    );
    assert.equal(statuses(report).get('dockerfile-user'), 'pass');
    assert.equal(statuses(report).get('systemd-user'), 'pass');
    assert.equal(statuses(report).get('eslint-security-plugin'), 'pass');
  });
});
