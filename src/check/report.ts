// src/check/report.ts
// The report model shared by the URL and project checks, what it adds up to, and the exit code
// it earns against --fail-on.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { severityRank, type Finding, type Severity } from './finding.js';

/** One test of the MDN HTTP Observatory as computed here, with the scanner's own result name. */
export interface ObservatoryTestResult {
  readonly name: string;
  readonly result: string;
  readonly pass: boolean;
  readonly modifier: number;
}

export interface ObservatorySummary {
  readonly algorithmVersion: number;
  /** Set when the Observatory would refuse to grade the site (it aborts); no score then. */
  readonly error?: string;
  readonly score?: number;
  readonly grade?: string;
  readonly tests: readonly ObservatoryTestResult[];
}

export interface Report {
  readonly tool: { readonly name: string; readonly version: string };
  readonly target: { readonly kind: 'url' | 'project'; readonly value: string };
  readonly startedAt: string;
  readonly durationMs: number;
  readonly findings: readonly Finding[];
  readonly observatory?: ObservatorySummary;
  /** What this kind of check cannot see; printed with every report so a pass is not over-read. */
  readonly limits: readonly string[];
}

export interface ReportSummary {
  readonly pass: number;
  readonly fail: number;
  readonly warn: number;
  readonly notChecked: number;
  readonly failingAtOrAbove: number;
}

/** Findings that make the check fail: status fail with a severity at or above the threshold. */
export function failingFindings(report: Pick<Report, 'findings'>, failOn: Severity): Finding[] {
  return report.findings.filter((finding) => finding.status === 'fail' && severityRank(finding.severity) >= severityRank(failOn));
}

export function summarize(report: Pick<Report, 'findings'>, failOn: Severity): ReportSummary {
  const count = (status: Finding['status']) => report.findings.filter((finding) => finding.status === status).length;
  return {
    pass: count('pass'),
    fail: count('fail'),
    warn: count('warn'),
    notChecked: count('not-checked'),
    failingAtOrAbove: failingFindings(report, failOn).length,
  };
}

let cachedVersion: string | undefined;

/** The package version, for reports and SARIF (dist/src/check/report.js sits three levels below the root). */
export function toolVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- this package's own package.json, found from this module's location
    const manifest = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version?: unknown };
    cachedVersion = typeof manifest.version === 'string' ? manifest.version : '0.0.0';
  } catch {
    cachedVersion = '0.0.0';
  }
  return cachedVersion;
}

/** Orders findings by practice, then failures first, then by id, so reports read the same every run. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  const statusOrder: Record<Finding['status'], number> = { fail: 0, warn: 1, pass: 2, 'not-checked': 3 };
  return [...findings].sort((a, b) => a.practice - b.practice || statusOrder[a.status] - statusOrder[b.status] || a.id.localeCompare(b.id));
}
