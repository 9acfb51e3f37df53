// test/supply-chain/audit.test.ts
// Practice 2: `npm run audit:deps` reports advisories by severity, fails on high and critical, and
// says "NOT CHECKED" (never "0 vulnerabilities") when the advisory service cannot be reached.
//
// The build machines cannot reach the advisory service (it answers 405 there), so the "answered"
// cases feed the classifier a synthetic report shaped like npm's `npm audit --json` output
// (auditReportVersion 2). That mock stands in for a service we cannot reach; the "unreachable"
// cases are npm's real output, captured on a build machine, with the hosts replaced by <host>.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface NpmRun {
  status: number | null;
  stdout: string;
  stderr: string;
  timedOut?: boolean;
}
interface Unreachable { outcome: 'unreachable'; reason: string }
interface RunError { outcome: 'error'; reason: string }
interface Finding { name: string; severity: string; range: string; advisories: { title: string; url: string }[] }
interface AuditChecked { outcome: 'checked'; counts: Record<string, number>; dependencies: number; findings: Finding[]; failed: boolean }
interface SignatureProblem { name: string; version: string; code?: string }
interface SignaturesChecked { outcome: 'checked'; invalid: SignatureProblem[]; missing: SignatureProblem[]; failed: boolean }
type AuditResult = AuditChecked | Unreachable | RunError;
type SignaturesResult = SignaturesChecked | Unreachable | RunError;
interface AuditScript {
  classifyAudit(run: NpmRun): AuditResult;
  classifySignatures(run: NpmRun): SignaturesResult;
  formatAudit(result: AuditResult): string[];
  formatSignatures(result: SignaturesResult): string[];
  exitStatus(...results: (AuditResult | SignaturesResult)[]): number;
}

// The compiled test runs from dist/test/supply-chain, the source from test/supply-chain: find the
// repository root by its package.json rather than by a fixed number of `..`.
function repositoryRoot(): string {
  let folder = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(folder, 'package.json'))) {
    const parent = path.dirname(folder);
    if (parent === folder) throw new Error('no package.json above the test file');
    folder = parent;
  }
  return folder;
}
const root = repositoryRoot();
const scriptPath = path.join(root, 'scripts', 'audit-deps.mjs');
const script = (await import(pathToFileURL(scriptPath).href)) as AuditScript;

// `npm audit --audit-level=high --json` on a build machine (npm 11.19): the registry's bulk
// advisory endpoint answers 405 Method Not Allowed.
const REAL_405: NpmRun = {
  status: 1,
  stdout: JSON.stringify({
    message: '405 Method Not Allowed - POST https://<host>/-/npm/v1/security/advisories/bulk',
    method: 'POST',
    uri: 'https://<host>/-/npm/v1/security/advisories/bulk',
    headers: { allow: ['GET,HEAD'], date: ['Sun, 29 Nov 2026 08:42:27 GMT'], 'content-length': ['0'], 'x-fetch-attempts': ['1'] },
    statusCode: 405,
    body: '',
    error: { summary: '', detail: '' },
  }, null, 2),
  stderr: [
    'npm warn audit 405 Method Not Allowed - POST https://<host>/-/npm/v1/security/advisories/bulk',
    'npm error audit endpoint returned an error',
    'npm error A complete log of this run can be found in: /root/.npm/_logs/2026-11-29T08_42_27_103Z-debug-0.log',
    '',
  ].join('\n'),
};

// `npm audit signatures --json` on a build machine: the signing keys' TUF repository has no DNS.
const REAL_SIGNATURES_ENOTFOUND: NpmRun = {
  status: 1,
  stdout: JSON.stringify({
    error: {
      code: 'ENOTFOUND',
      summary: 'request to https://<host>/15.root.json failed, reason: getaddrinfo ENOTFOUND <host>',
      detail: 'This is a problem related to network connectivity.\nIn most cases you are behind a proxy or have bad network settings.',
    },
  }, null, 2),
  stderr: [
    'npm error code ENOTFOUND',
    'npm error syscall getaddrinfo',
    'npm error errno ENOTFOUND',
    'npm error network request to https://<host>/15.root.json failed, reason: getaddrinfo ENOTFOUND <host>',
    'npm error A complete log of this run can be found in: /root/.npm/_logs/2026-11-29T08_42_34_759Z-debug-0.log',
    '',
  ].join('\n'),
};

// A project without a lockfile: npm could not audit, whatever the network.
const NO_LOCKFILE: NpmRun = {
  status: 1,
  stdout: JSON.stringify({ error: { code: 'ENOLOCK', summary: 'This command requires an existing lockfile.', detail: 'Try creating one first with: npm i --package-lock-only' } }),
  stderr: 'npm error code ENOLOCK\nnpm error audit This command requires an existing lockfile.\n',
};

/** A synthetic report in the shape of npm's `npm audit --json` (auditReportVersion 2). */
function auditReport(vulnerabilities: Record<string, unknown>, counts: Partial<Record<string, number>>): NpmRun {
  const severities = { info: 0, low: 0, moderate: 0, high: 0, critical: 0, ...counts };
  const total = Object.values(severities).reduce((sum, n) => sum + n, 0);
  const report = {
    auditReportVersion: 2,
    vulnerabilities,
    metadata: {
      vulnerabilities: { ...severities, total },
      dependencies: { prod: 120, dev: 224, optional: 3, peer: 0, peerOptional: 0, total: 344 },
    },
  };
  return { status: total > 0 ? 1 : 0, stdout: JSON.stringify(report, null, 2), stderr: '' };
}

const CRITICAL_AND_MODERATE = auditReport({
  minimist: {
    name: 'minimist',
    severity: 'critical',
    isDirect: false,
    via: [{
      source: 1096466,
      name: 'minimist',
      dependency: 'minimist',
      title: 'Prototype Pollution in minimist',
      url: 'https://github.com/advisories/GHSA-xvch-5gv4-984h',
      severity: 'critical',
      cwe: ['CWE-1321'],
      cvss: { score: 9.8, vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
      range: '<0.2.4',
    }],
    effects: ['mkdirp'],
    range: '<0.2.4',
    nodes: ['node_modules/minimist'],
    fixAvailable: true,
  },
  mkdirp: {
    name: 'mkdirp', severity: 'critical', isDirect: true, via: ['minimist'], effects: [], range: '0.4.1 - 0.5.1', nodes: ['node_modules/mkdirp'], fixAvailable: true,
  },
  debug: {
    name: 'debug',
    severity: 'moderate',
    isDirect: false,
    via: [{ source: 1094219, name: 'debug', dependency: 'debug', title: 'Regular Expression Denial of Service in debug', url: 'https://github.com/advisories/GHSA-gxpj-cx7g-858c', severity: 'moderate', range: '<2.6.9' }],
    effects: [],
    range: '<2.6.9',
    nodes: ['node_modules/debug'],
    fixAvailable: true,
  },
}, { moderate: 1, critical: 2 });

describe('npm audit, when the advisory service cannot be reached', () => {
  it('classifies the real 405 answer as not checked, with the reason', () => {
    const result = script.classifyAudit(REAL_405);
    assert.equal(result.outcome, 'unreachable');
    assert.match(result.reason, /405 Method Not Allowed/);
  });

  it('says NOT CHECKED plainly and never reports zero vulnerabilities', () => {
    const lines = script.formatAudit(script.classifyAudit(REAL_405));
    assert.deepEqual(lines, [
      'npm audit: NOT CHECKED — the advisory service could not be reached (HTTP 405 Method Not Allowed - POST https://<host>/-/npm/v1/security/advisories/bulk)',
    ]);
    assert.doesNotMatch(lines.join('\n'), /\b0 (vulnerabilities|critical|high)\b/);
  });

  it('does not fail the build on an unreachable service alone', () => {
    assert.equal(script.exitStatus(script.classifyAudit(REAL_405), script.classifySignatures(REAL_SIGNATURES_ENOTFOUND)), 0);
  });

  it('recognises the same answer from stderr alone, when stdout is empty', () => {
    const result = script.classifyAudit({ ...REAL_405, stdout: '' });
    assert.equal(result.outcome, 'unreachable');
    assert.match(result.reason, /405/);
  });

  it('treats an npm that never finished as not checked', () => {
    assert.equal(script.classifyAudit({ status: null, stdout: '', stderr: '', timedOut: true }).outcome, 'unreachable');
  });

  it('classifies a network failure (no DNS, refused, reset) as not checked', () => {
    for (const code of ['ENOTFOUND', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'E503']) {
      const run: NpmRun = { status: 1, stdout: JSON.stringify({ error: { code, summary: `request failed: ${code}` } }), stderr: '' };
      assert.equal(script.classifyAudit(run).outcome, 'unreachable', code);
    }
  });
});

describe('npm audit, when the project itself cannot be audited', () => {
  it('fails with the reason when there is no lockfile, instead of claiming the service was down', () => {
    const result = script.classifyAudit(NO_LOCKFILE);
    assert.deepEqual(result, { outcome: 'error', reason: 'ENOLOCK: This command requires an existing lockfile.' });
    assert.match(script.formatAudit(result).join('\n'), /^npm audit: FAILED/);
    assert.equal(script.exitStatus(result), 1);
  });

  it('fails on output it cannot make sense of', () => {
    const result = script.classifyAudit({ status: 1, stdout: 'not json', stderr: 'npm error something unexpected\n' });
    assert.deepEqual(result, { outcome: 'error', reason: 'something unexpected' });
    assert.equal(script.exitStatus(result), 1);
  });
});

describe('npm audit, when the advisory service answers (a synthetic report: the service is unreachable here)', () => {
  it('counts advisories by severity and lists the high and critical ones with their advisories', () => {
    const result = script.classifyAudit(CRITICAL_AND_MODERATE);
    assert.equal(result.outcome, 'checked');
    const checked = result;
    assert.deepEqual(checked.counts, { info: 0, low: 0, moderate: 1, high: 0, critical: 2 });
    assert.equal(checked.dependencies, 344);
    assert.deepEqual(checked.findings.map((finding) => finding.name), ['minimist', 'mkdirp']);
    assert.deepEqual(checked.findings[0]?.advisories, [{ title: 'Prototype Pollution in minimist', url: 'https://github.com/advisories/GHSA-xvch-5gv4-984h' }]);
    assert.equal(checked.failed, true);
  });

  it('prints a summary by severity and fails the build on a critical advisory', () => {
    const result = script.classifyAudit(CRITICAL_AND_MODERATE);
    const lines = script.formatAudit(result);
    assert.equal(lines[0], 'npm audit: 344 dependencies checked against the advisory service: 2 critical, 0 high, 1 moderate, 0 low, 0 info');
    assert.match(lines.join('\n'), /critical +minimist <0\.2\.4: Prototype Pollution in minimist https:\/\/github\.com\/advisories\/GHSA-xvch-5gv4-984h/);
    assert.match(lines.join('\n'), /critical +mkdirp 0\.4\.1 - 0\.5\.1 \(through a vulnerable dependency\)/);
    assert.doesNotMatch(lines.join('\n'), /debug/, 'moderate advisories are counted, not listed');
    assert.match(lines.at(-1) ?? '', /^npm audit: FAILED/);
    assert.equal(script.exitStatus(result), 1);
  });

  it('fails on a high advisory too', () => {
    const result = script.classifyAudit(auditReport({
      tar: { name: 'tar', severity: 'high', isDirect: true, via: [{ title: 'Arbitrary File Creation in tar', url: 'https://github.com/advisories/GHSA-r628-mhmh-qjhw', severity: 'high' }], effects: [], range: '<4.4.16', nodes: ['node_modules/tar'], fixAvailable: true },
    }, { high: 1 }));
    assert.equal(script.exitStatus(result), 1);
  });

  it('passes with moderate and low advisories, still counting them', () => {
    const result = script.classifyAudit(auditReport({}, { low: 2, moderate: 1 }));
    assert.equal(script.exitStatus(result), 0);
    assert.deepEqual(script.formatAudit(result), [
      'npm audit: 344 dependencies checked against the advisory service: 0 critical, 0 high, 1 moderate, 2 low, 0 info',
      'npm audit: passed — no high or critical advisories',
    ]);
  });

  it('passes a clean report, which is the only case that prints zero counts', () => {
    const result = script.classifyAudit(auditReport({}, {}));
    assert.equal(script.exitStatus(result), 0);
    assert.match(script.formatAudit(result)[0] ?? '', /checked against the advisory service: 0 critical, 0 high/);
  });

  it('reads the report even when a warning line precedes the JSON', () => {
    const run = CRITICAL_AND_MODERATE;
    assert.equal(script.classifyAudit({ ...run, stdout: `npm warn something\n${run.stdout}` }).outcome, 'checked');
  });
});

describe('npm audit signatures', () => {
  it('classifies the real unreachable key service as not checked', () => {
    const result = script.classifySignatures(REAL_SIGNATURES_ENOTFOUND);
    assert.equal(result.outcome, 'unreachable');
    assert.deepEqual(script.formatSignatures(result), [
      'npm audit signatures: NOT CHECKED — the signing-key service could not be reached (ENOTFOUND: request to https://<host>/15.root.json failed, reason: getaddrinfo ENOTFOUND <host>)',
    ]);
  });

  it('passes when every signature verified (a synthetic answer in npm\'s --json shape)', () => {
    const result = script.classifySignatures({ status: 0, stdout: JSON.stringify({ invalid: [], missing: [] }), stderr: '' });
    assert.deepEqual(result, { outcome: 'checked', invalid: [], missing: [], failed: false });
    assert.equal(script.exitStatus(result), 0);
  });

  it('fails on an invalid or a missing registry signature, naming the packages', () => {
    const stdout = JSON.stringify({
      invalid: [{ code: 'EINTEGRITYSIGNATURE', name: 'left-pad', version: '1.3.0', location: 'node_modules/left-pad', registry: 'https://<host>/', type: 'dependencies' }],
      missing: [{ name: 'is-odd', version: '3.0.1', location: 'node_modules/is-odd', registry: 'https://<host>/' }],
    });
    const result = script.classifySignatures({ status: 1, stdout, stderr: '' });
    assert.equal(script.exitStatus(result), 1);
    assert.deepEqual(script.formatSignatures(result), [
      'npm audit signatures: FAILED — 1 invalid, 1 missing',
      '  invalid  left-pad@1.3.0 (EINTEGRITYSIGNATURE)',
      '  missing  is-odd@3.0.1',
    ]);
  });
});

describe('npm run audit:deps, run for real', () => {
  it('checks or says NOT CHECKED for both audits, and never reports zero vulnerabilities unchecked', () => {
    const result = spawnSync(process.execPath, [scriptPath], { cwd: root, encoding: 'utf8', timeout: 300_000 });
    const lines = result.stdout.trim().split('\n');
    const auditLine = lines.find((line) => line.startsWith('npm audit:')) ?? '';
    const signaturesLine = lines.find((line) => line.startsWith('npm audit signatures:')) ?? '';
    assert.match(auditLine, /^npm audit: (NOT CHECKED — the advisory service could not be reached \(.+\)|\d+ dependencies checked)/, result.stdout + result.stderr);
    assert.match(signaturesLine, /^npm audit signatures: (NOT CHECKED|passed|FAILED)/, result.stdout + result.stderr);
    if (auditLine.includes('NOT CHECKED')) {
      assert.doesNotMatch(result.stdout, /\b0 (vulnerabilities|critical|high)\b/);
      assert.equal(lines.filter((line) => line.startsWith('npm audit: ')).length, 1, 'nothing else is said about the unchecked audit');
    }
    // Either everything that could be checked passed (0), or findings were listed (1).
    assert.ok(result.status === 0 || /FAILED/.test(result.stdout), `exit ${String(result.status)}: ${result.stdout}${result.stderr}`);
  });
});
