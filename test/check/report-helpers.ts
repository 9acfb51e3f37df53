// test/check/report-helpers.ts
// Small readers of a check report shared by the check tests.

import type { Report } from '../../src/check/report.js';

/** The ids that fail or warn, sorted: what a reader of the report has to act on. */
export function flagged(report: Report): string[] {
  return report.findings
    .filter((finding) => finding.status === 'fail' || finding.status === 'warn')
    .map((finding) => finding.id)
    .sort();
}

/** id → status of every finding. */
export function statuses(report: Report): Map<string, string> {
  return new Map(report.findings.map((finding) => [finding.id, finding.status]));
}
