// scripts/bench/lib/report-file.mjs: `npm run bench -- --write FILE` puts the run's report into
// FILE (BENCHMARKS.md) between two marker lines, with the command that reproduces it, and leaves
// the rest of the file (the analysis written by people) as it was. The markers are checked before
// the run starts, so a long run never ends with nowhere to put its figures.

import { readFileSync, writeFileSync } from 'node:fs';

export const reportStart = '<!-- npm run bench -- --write: the generated report starts here -->';
export const reportEnd = '<!-- npm run bench -- --write: the generated report ends here -->';

/** Undefined when FILE has each marker once, start before end; otherwise what is wrong, in a sentence. */
export function reportFileProblem(file) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return `cannot read ${file} (${error.code ?? error.message})`;
  }
  const starts = text.split(reportStart).length - 1;
  const ends = text.split(reportEnd).length - 1;
  if (starts !== 1 || ends !== 1 || text.indexOf(reportStart) > text.indexOf(reportEnd)) {
    return `${file} must contain the line "${reportStart}" once, and after it the line "${reportEnd}" once`;
  }
  return undefined;
}

/** The settings that change what is measured (PostgreSQL + Redis), printed before the command. */
const printedSettings = ['PORTCULLIS_BENCH_DATABASE_URL', 'PORTCULLIS_BENCH_REDIS_URL'];

/** A URL as it may be printed: its password, if any, replaced. */
function withoutPassword(value) {
  try {
    const url = new URL(value);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return '(not a URL)';
  }
}

/**
 * The command line as a reader would type it again (arguments with spaces or quotes quoted), with
 * the settings that add PostgreSQL + Redis in front of it (without passwords).
 */
export function commandLine(args, env = {}) {
  const quote = (arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`);
  const settings = Object.entries(env)
    .filter(([name, value]) => printedSettings.includes(name) && value !== undefined)
    .sort(([left], [right]) => left.localeCompare(right))
    .map(([name, value]) => `${name}=${quote(withoutPassword(value))}`);
  return [...settings, 'npm run bench', ...(args.length > 0 ? ['--', ...args.map(quote)] : [])].join(' ');
}

/** Replaces what lies between the markers with `report`, headed by how it was made. */
export function writeReport(file, report, { command, commit, date }) {
  const text = readFileSync(file, 'utf8');
  const before = text.slice(0, text.indexOf(reportStart) + reportStart.length);
  const after = text.slice(text.indexOf(reportEnd));
  const heading = `Written by \`${command}\`${commit === undefined ? '' : ` at commit ${commit}`} on ${date}.`;
  writeFileSync(file, `${before}\n\n${heading}\n\n${report.trimEnd()}\n\n${after}`);
}
