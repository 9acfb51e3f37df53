// src/check/output/text.ts
// The terminal report: findings grouped by practice, failures with their evidence and fix, a
// summary and the limits of what was checked. Colour only when writing to a terminal and NO_COLOR
// is not set (https://no-color.org); piped output is plain text.

import { allPractices, practiceTitle, type Finding, type Severity } from '../finding.js';
import { summarize, type Report } from '../report.js';

export interface ColourChoice {
  readonly isTTY?: boolean;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Colour when the stream is a terminal, NO_COLOR is unset or empty, and TERM is not "dumb". */
export function useColour({ isTTY, env = process.env }: ColourChoice): boolean {
  if (isTTY !== true) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return env.TERM !== 'dumb';
}

interface Palette {
  readonly red: (text: string) => string;
  readonly green: (text: string) => string;
  readonly yellow: (text: string) => string;
  readonly dim: (text: string) => string;
  readonly bold: (text: string) => string;
}

const plain: Palette = { red: (t) => t, green: (t) => t, yellow: (t) => t, dim: (t) => t, bold: (t) => t };
const ansi: Palette = {
  red: (t) => `\x1b[31m${t}\x1b[39m`,
  green: (t) => `\x1b[32m${t}\x1b[39m`,
  yellow: (t) => `\x1b[33m${t}\x1b[39m`,
  dim: (t) => `\x1b[2m${t}\x1b[22m`,
  bold: (t) => `\x1b[1m${t}\x1b[22m`,
};

function marker(finding: Finding, paint: Palette): string {
  switch (finding.status) {
    case 'pass':
      return paint.green('pass');
    case 'fail':
      return paint.red(`FAIL ${finding.severity}`);
    case 'warn':
      return paint.yellow(`warn ${finding.severity}`);
    case 'not-checked':
      return paint.dim('not checked');
  }
}

function wrap(text: string, indent: string, width: number): string {
  const words = text.split(/\s+/).filter((word) => word !== '');
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.map((text) => `${indent}${text}`).join('\n');
}

export interface TextOptions {
  readonly colour: boolean;
  readonly failOn: Severity;
  /** Line width for wrapping evidence and fixes. */
  readonly width?: number;
}

export function formatText(report: Report, options: TextOptions): string {
  const paint = options.colour ? ansi : plain;
  const width = Math.max(60, Math.min(options.width ?? 100, 140));
  const out: string[] = [];
  const seconds = (report.durationMs / 1000).toFixed(2);
  out.push(paint.bold(`portcullis check ${report.target.kind === 'url' ? report.target.value : `--project ${report.target.value}`}`) + paint.dim(`  (${seconds} s)`));
  const observatory = report.observatory;
  if (observatory !== undefined) {
    out.push(
      observatory.score === undefined
        ? `MDN HTTP Observatory: not graded (${observatory.error ?? 'no score'})`
        : `MDN HTTP Observatory (algorithm v${observatory.algorithmVersion}, computed here): ${paint.bold(`${observatory.score} points, ${observatory.grade ?? '?'}`)}`,
    );
  }
  for (const practice of allPractices) {
    const findings = report.findings.filter((finding) => finding.practice === practice);
    if (findings.length === 0) continue;
    out.push('', paint.bold(`${String(practice).padStart(2)}. ${practiceTitle(practice)}`));
    for (const finding of findings) {
      out.push(`    ${marker(finding, paint)}  ${finding.title} ${paint.dim(`[${finding.id}]`)}`);
      if (finding.status === 'pass') continue;
      if (finding.evidence !== '') out.push(wrap(`${finding.status === 'not-checked' ? 'why:' : 'seen:'} ${finding.evidence}`, '        ', width));
      if (finding.fix !== '') out.push(wrap(`fix: ${finding.fix}`, '        ', width));
      for (const location of finding.locations ?? []) out.push(`        at ${location.file}${location.line === undefined ? '' : `:${location.line}`}`);
    }
  }
  const summary = summarize(report, options.failOn);
  out.push('');
  const counts = `${summary.pass} passed, ${summary.fail} failed, ${summary.warn} warnings, ${summary.notChecked} not checked`;
  const verdict =
    summary.failingAtOrAbove === 0
      ? paint.green(`nothing fails at or above ${options.failOn}`)
      : paint.red(`${summary.failingAtOrAbove} finding${summary.failingAtOrAbove === 1 ? '' : 's'} fail at or above ${options.failOn}`);
  out.push(`${counts}: ${verdict}.`);
  if (report.limits.length > 0) {
    out.push('', paint.dim('Limits:'));
    for (const limit of report.limits) out.push(paint.dim(wrap(`- ${limit}`, '  ', width).replace(/^ {2}/, '')));
  }
  return `${out.join('\n')}\n`;
}
