// src/check/finding.ts
// The unit of a `portcullis check` report: one finding per thing checked, tied to one of the guide's
// eleven practices, with what was seen (evidence) and what to do about it (fix).

export type Practice = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11;

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

/**
 * pass: checked and meets the bar. fail: checked and does not. warn: checked, falls short of best
 * practice without breaking a rule. not-checked: could not be seen from here (the evidence says why).
 */
export type Status = 'pass' | 'fail' | 'warn' | 'not-checked';

export interface FindingLocation {
  /** Path relative to the checked folder, with forward slashes. */
  readonly file: string;
  readonly line?: number;
}

export interface Finding {
  readonly practice: Practice;
  /** Stable kebab-case identifier: scripts, SARIF rules and tests match on it. Never reused. */
  readonly id: string;
  readonly title: string;
  readonly severity: Severity;
  readonly status: Status;
  /** What was seen: a header, a cookie, a response snippet, a file and line. */
  readonly evidence: string;
  /** What to change; empty for a pass. */
  readonly fix: string;
  /** Where, for findings about files (project checks). */
  readonly locations?: readonly FindingLocation[];
}

export const severities: readonly Severity[] = ['info', 'low', 'medium', 'high', 'critical'];

export function severityRank(severity: Severity): number {
  return severities.indexOf(severity);
}

export function isSeverity(value: string): value is Severity {
  return (severities as readonly string[]).includes(value);
}

/** The guide's eleven practices, by number. */
export const practiceTitles: ReadonlyMap<Practice, string> = new Map([
  [1, 'Run without root privileges'],
  [2, 'Keep dependencies and the runtime up to date'],
  [3, 'Custom cookie names (and cookie attributes)'],
  [4, 'Secure HTTP headers'],
  [5, 'Rate limiting'],
  [6, 'Strong authentication'],
  [7, 'Minimal error details'],
  [8, 'Monitoring'],
  [9, 'HTTPS only'],
  [10, 'Input validation'],
  [11, 'Security linters'],
]);

export function practiceTitle(practice: Practice): string {
  return practiceTitles.get(practice) ?? `Practice ${practice}`;
}

export const allPractices: readonly Practice[] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

/** Builders that keep call sites short: the id, practice and title come from a check's definition. */
export interface CheckDefinition {
  readonly practice: Practice;
  readonly id: string;
  readonly title: string;
  /** The severity of a failure unless the failure says otherwise. */
  readonly severity: Severity;
}

export function pass(definition: CheckDefinition, evidence: string): Finding {
  return { ...definition, status: 'pass', evidence, fix: '' };
}

export function fail(definition: CheckDefinition, evidence: string, fix: string, extra: { severity?: Severity; locations?: readonly FindingLocation[] } = {}): Finding {
  return { ...definition, severity: extra.severity ?? definition.severity, status: 'fail', evidence, fix, ...(extra.locations === undefined ? {} : { locations: extra.locations }) };
}

export function warn(definition: CheckDefinition, evidence: string, fix: string, extra: { severity?: Severity; locations?: readonly FindingLocation[] } = {}): Finding {
  return { ...definition, severity: extra.severity ?? definition.severity, status: 'warn', evidence, fix, ...(extra.locations === undefined ? {} : { locations: extra.locations }) };
}

export function notChecked(definition: CheckDefinition, reason: string, fix = ''): Finding {
  return { ...definition, severity: 'info', status: 'not-checked', evidence: reason, fix };
}
