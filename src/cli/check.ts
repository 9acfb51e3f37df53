// src/cli/check.ts
// `portcullis check`: audit a running site (by URL) or a Node.js project folder against the guide's
// eleven practices. Exit 0 when nothing fails at or above --fail-on, 1 when something does, 2 when
// the check could not run (bad arguments, a bad URL, an unreachable host).

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import { isSeverity, type Severity } from '../check/finding.js';
import { formatJson } from '../check/output/json.js';
import { formatSarif } from '../check/output/sarif.js';
import { formatText, useColour } from '../check/output/text.js';
import { terminalProgress } from '../check/progress.js';
import { runProjectCheck } from '../check/project-check.js';
import { failingFindings, type Report } from '../check/report.js';
import { CheckCannotRun } from '../check/target.js';
import { runUrlCheck } from '../check/url-check.js';
import { ExitCode } from './exit-codes.js';

export const checkHelp = `Usage: portcullis check <url> [options]
       portcullis check --project <folder> [options]

Audits a running web app (any site, not only Portcullis) or a Node.js project folder against the
eleven practices, and prints each finding with its evidence and the fix. See docs/check.md.

What to check:
  <url>                     https://example.com/ or http://127.0.0.1:8080/ (a bare host means https)
  -p, --project <folder>    a Node.js project folder (read only; no network unless --online)

Output:
  --json                    the report as JSON on stdout
  --sarif                   SARIF 2.1.0 on stdout, for code-scanning tools
  --fail-on <severity>      exit 1 when a finding fails at this severity or above:
                            info, low, medium, high (default) or critical

URL checks:
  --ca <file>               also trust this PEM certificate (a self-signed or private CA); repeatable
  --http-port <port>        where plain HTTP listens (default: the URL's port, else 80)
  --https-port <port>       where HTTPS listens (default: the URL's port, else 443)
  --post-path <path>        where the body probes POST (default: the URL's path)
  --timeout <ms>            deadline of each request (default 10000)
  --probe-rate-limit        send a burst of at most 200 GETs that stops at the first 429; only
                            against this machine unless --i-own-this-site is given
  --i-own-this-site         allow the burst against a host that is not this machine

Project checks:
  --online                  run npm audit (asks the registry's advisory service)
  --eslint                  run the project's ESLint (executes its configuration) and report
                            eslint-plugin-security's findings
  --tool-timeout <ms>       deadline for npm audit and ESLint (default 120000)

Exit codes: 0 nothing fails at or above --fail-on; 1 something does; 2 the check could not run.
Colour only on a terminal, never with NO_COLOR set. Progress goes to stderr on a terminal.`;

export const checkOptions = {
  project: { type: 'string', short: 'p' },
  json: { type: 'boolean' },
  sarif: { type: 'boolean' },
  'fail-on': { type: 'string' },
  ca: { type: 'string', multiple: true },
  'http-port': { type: 'string' },
  'https-port': { type: 'string' },
  'post-path': { type: 'string' },
  timeout: { type: 'string' },
  'probe-rate-limit': { type: 'boolean' },
  'i-own-this-site': { type: 'boolean' },
  online: { type: 'boolean' },
  eslint: { type: 'boolean' },
  'tool-timeout': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

class UsageError extends Error {}

function integer(raw: unknown, name: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || value < min || value > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not "${typeof raw === 'string' ? raw.slice(0, 40) : typeof raw}"`);
  }
  return value;
}

function readCertificates(files: readonly string[]): string[] {
  return files.map((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new CheckCannotRun(`cannot read --ca ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    try {
      new X509Certificate(text);
    } catch {
      throw new CheckCannotRun(`--ca ${file} is not a PEM certificate`);
    }
    return text;
  });
}

function render(report: Report, values: Record<string, unknown>, failOn: Severity): string {
  if (values.json === true) return formatJson(report, failOn);
  if (values.sarif === true) return formatSarif(report, failOn);
  return formatText(report, { colour: useColour({ isTTY: process.stdout.isTTY, env: process.env }), failOn, width: process.stdout.columns });
}

export async function runCheck(parsed: { values: Record<string, unknown>; positionals: string[] }): Promise<number> {
  const { values, positionals } = parsed;
  let report: Report;
  let failOn: Severity;
  const progress = terminalProgress(process.stderr, 'portcullis check');
  try {
    const rawFailOn = typeof values['fail-on'] === 'string' ? values['fail-on'] : 'high';
    if (!isSeverity(rawFailOn)) throw new UsageError(`--fail-on must be info, low, medium, high or critical, not "${rawFailOn.slice(0, 40)}"`);
    failOn = rawFailOn;
    if (values.json === true && values.sarif === true) throw new UsageError('choose one of --json and --sarif');
    const project = typeof values.project === 'string' ? values.project : undefined;
    if (positionals.length > 1) throw new UsageError(`give one URL, not ${positionals.length}`);
    const url = positionals[0];
    if ((url === undefined) === (project === undefined)) throw new UsageError('give either a URL or --project <folder>');
    if (project !== undefined) {
      report = await runProjectCheck(project, {
        online: values.online === true,
        runEslint: values.eslint === true,
        toolTimeoutMs: integer(values['tool-timeout'], 'tool-timeout', 1_000, 3_600_000) ?? 120_000,
        progress,
      });
    } else {
      const postPath = typeof values['post-path'] === 'string' ? values['post-path'] : undefined;
      if (postPath !== undefined && !postPath.startsWith('/')) throw new UsageError('--post-path must start with /');
      const httpPort = integer(values['http-port'], 'http-port', 1, 65_535);
      const httpsPort = integer(values['https-port'], 'https-port', 1, 65_535);
      report = await runUrlCheck(url ?? '', {
        extraCa: readCertificates(Array.isArray(values.ca) ? values.ca.filter((file): file is string => typeof file === 'string') : []),
        timeoutMs: integer(values.timeout, 'timeout', 100, 120_000) ?? 10_000,
        probeRateLimit: values['probe-rate-limit'] === true,
        iOwnThisSite: values['i-own-this-site'] === true,
        ...(postPath === undefined ? {} : { postPath }),
        ...(httpPort === undefined ? {} : { httpPort }),
        ...(httpsPort === undefined ? {} : { httpsPort }),
        progress,
      });
    }
  } catch (error) {
    progress.stop();
    if (error instanceof UsageError) {
      process.stderr.write(`portcullis check: ${error.message}\n\n${checkHelp}\n`);
      return ExitCode.usage;
    }
    if (error instanceof CheckCannotRun) {
      process.stderr.write(`portcullis check: the check could not run: ${error.message}\n`);
      return ExitCode.usage;
    }
    throw error;
  }
  process.stdout.write(render(report, values, failOn));
  return failingFindings(report, failOn).length > 0 ? ExitCode.failure : ExitCode.ok;
}
