// src/check/output/json.ts
// --json: the report as it is, plus the summary against --fail-on, for scripts. Field names are a
// contract: add fields, never rename them.

import type { Severity } from '../finding.js';
import { summarize, type Report } from '../report.js';

export function formatJson(report: Report, failOn: Severity): string {
  return `${JSON.stringify({ ...report, failOn, summary: summarize(report, failOn) }, null, 2)}\n`;
}
