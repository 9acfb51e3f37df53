// src/check/project/audit.ts
// Practice 2: known vulnerabilities, from `npm audit`. Only with --online (it asks the registry's
// advisory service), and only as good as that answer: when the service does not answer (this CI's
// registry mirror answers 405), the finding says "not checked", never "0 vulnerabilities".

import type { Finding, Severity } from '../finding.js';
import { fail, notChecked, pass, type CheckDefinition } from '../finding.js';
import type { ProjectCheckGroup } from './context.js';
import { runProcess } from './files.js';

export const auditCheck = { practice: 2, id: 'npm-audit', title: 'npm audit finds no known vulnerability', severity: 'high' } as const satisfies CheckDefinition;

const npmSeverities: readonly (readonly [string, Severity])[] = [
  ['critical', 'critical'],
  ['high', 'high'],
  ['moderate', 'medium'],
  ['low', 'low'],
  ['info', 'info'],
];

interface AuditJson {
  readonly error?: { readonly code?: unknown; readonly summary?: unknown; readonly detail?: unknown };
  readonly message?: unknown;
  readonly statusCode?: unknown;
  readonly metadata?: { readonly vulnerabilities?: Readonly<Record<string, unknown>> };
  readonly vulnerabilities?: Readonly<Record<string, { readonly severity?: unknown; readonly name?: unknown }>>;
}

/** Reads `npm audit --json`: a finding, or the reason the advisory service gave no usable answer. */
export function auditFinding(stdout: string, stderr: string): Finding {
  let parsed: AuditJson;
  try {
    parsed = JSON.parse(stdout) as AuditJson;
  } catch {
    const line = (stderr.trim().split('\n').find((text) => /error|ERR/.test(text)) ?? stderr.trim().split('\n')[0] ?? 'no output').slice(0, 200);
    return notChecked(auditCheck, `npm audit gave no report: ${line}`, 'run npm audit where the registry\'s advisory service can be reached');
  }
  const counts = parsed.metadata?.vulnerabilities;
  if (parsed.error !== undefined || typeof parsed.statusCode === 'number' || counts === undefined) {
    const message = typeof parsed.message === 'string' ? parsed.message : typeof parsed.error?.summary === 'string' && parsed.error.summary !== '' ? parsed.error.summary : 'the audit endpoint returned an error';
    return notChecked(
      auditCheck,
      `the advisory service did not answer (${message.slice(0, 200)}): vulnerabilities unknown, not zero`,
      'run npm audit (or portcullis check --project --online) where the registry\'s advisory endpoint answers, for example in CI with internet access',
    );
  }
  const countMap = new Map(Object.entries(counts));
  const count = (name: string) => {
    const value = countMap.get(name);
    return typeof value === 'number' ? value : 0;
  };
  const total = npmSeverities.reduce((sum, [name]) => sum + count(name), 0);
  if (total === 0) return pass(auditCheck, 'npm audit: 0 known vulnerabilities (the advisory service answered)');
  const worst = npmSeverities.find(([name]) => count(name) > 0)?.[1] ?? 'low';
  const byPackage = Object.entries(parsed.vulnerabilities ?? {})
    .map(([name, item]) => `${name} (${typeof item.severity === 'string' ? item.severity : '?'})`)
    .slice(0, 8);
  return fail(
    auditCheck,
    `npm audit: ${npmSeverities
      .filter(([name]) => count(name) > 0)
      .map(([name]) => `${count(name)} ${name}`)
      .join(', ')}${byPackage.length > 0 ? `: ${byPackage.join(', ')}` : ''}`,
    'npm audit fix (or update the named packages; npm audit fix --force only after reading what it changes), within the documented remediation window',
    { severity: worst, locations: [{ file: 'package-lock.json' }] },
  );
}

export const auditGroup: ProjectCheckGroup = {
  name: 'npm audit',
  practice: 2,
  async run(context) {
    if (!context.options.online) {
      return [notChecked(auditCheck, 'not run: npm audit asks the registry over the network, and project checks stay offline unless asked', 'add --online to run npm audit')];
    }
    if (!context.files.includes('package-lock.json') && !context.files.includes('npm-shrinkwrap.json')) {
      return [notChecked(auditCheck, 'no package-lock.json or npm-shrinkwrap.json for npm audit to read')];
    }
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const result = await runProcess(npm, ['audit', '--json', '--package-lock-only'], { cwd: context.root, timeoutMs: context.options.toolTimeoutMs });
    if (result.timedOut) return [notChecked(auditCheck, `npm audit did not finish within ${context.options.toolTimeoutMs} ms`)];
    if (result.startError !== undefined) return [notChecked(auditCheck, `npm could not be started: ${result.startError}`)];
    return [auditFinding(result.stdout, result.stderr)];
  },
};
