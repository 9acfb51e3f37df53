#!/usr/bin/env node
// scripts/audit-deps.mjs: practice 2 (dependencies with known vulnerabilities). Runs `npm audit` and
// `npm audit signatures`, and says plainly when the service behind either could not be reached.
//
// Exit status: 1 when an advisory of high or critical severity is found, when a registry signature
// is invalid or missing, or when npm could not run the audit at all (no lockfile, say). 0 when
// everything that could be checked passed. A service that cannot be reached (the build machines
// reach the registry's normal reads only: the advisory endpoint answers 405 there) is reported as
// "NOT CHECKED" and does not fail the build on its own; it is never reported as "0 vulnerabilities".

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Severities as npm names them, from the least to the most severe. */
export const SEVERITIES = Object.freeze(['info', 'low', 'moderate', 'high', 'critical']);
/** Severities that fail the build. */
export const BLOCKING_SEVERITIES = Object.freeze(['high', 'critical']);

// Error codes that mean "the service did not answer us", as opposed to "npm could not audit this
// project". HTTP answers (405 from the advisory endpoint here) are recognised by their status code.
const NETWORK_CODES = new Set([
  'ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT',
  'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EPIPE', 'EPROTO', 'FETCH_ERROR', 'ERR_SOCKET_TIMEOUT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * @typedef {{ status: number | null, stdout: string, stderr: string, timedOut?: boolean }} NpmRun
 *   What one npm command did: its exit status, its output, and whether it was stopped for taking too long.
 * @typedef {{ outcome: 'unreachable', reason: string }} Unreachable
 * @typedef {{ outcome: 'error', reason: string }} RunError
 * @typedef {{ name: string, severity: string, range: string, advisories: { title: string, url: string }[] }} Finding
 * @typedef {{ outcome: 'checked', counts: Record<string, number>, dependencies: number, findings: Finding[], failed: boolean }} AuditChecked
 * @typedef {{ name: string, version: string, code?: string }} SignatureProblem
 * @typedef {{ outcome: 'checked', invalid: SignatureProblem[], missing: SignatureProblem[], failed: boolean }} SignaturesChecked
 */

/** Parses npm's --json output; npm prints one JSON document, but a warning may precede it. */
export function parseJson(text) {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  try {
    return JSON.parse(trimmed);
  } catch {
    const start = trimmed.indexOf('{');
    if (start <= 0) return undefined;
    try {
      return JSON.parse(trimmed.slice(start));
    } catch {
      return undefined;
    }
  }
}

function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstLine(text, limit = 240) {
  const line = String(text).split('\n').find((part) => part.trim() !== '') ?? '';
  return line.length > limit ? `${line.slice(0, limit - 1)}…` : line.trim();
}

/** The `npm error ...` lines of stderr, without their prefix. */
function npmErrorLines(stderr) {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('npm error ') || line.startsWith('npm ERR! '))
    .map((line) => line.replace(/^npm (error|ERR!) /, ''))
    .filter((line) => !line.startsWith('A complete log of this run'));
}

/**
 * Decides whether a failed npm command failed because a service could not be reached.
 * @param {NpmRun} run
 * @param {unknown} json its parsed stdout
 * @returns {Unreachable | RunError}
 */
export function classifyFailure(run, json) {
  if (run.timedOut) return { outcome: 'unreachable', reason: 'npm did not finish in time' };
  if (isObject(json)) {
    // An HTTP answer from the service: `{ message, statusCode, uri, ... }` (npm audit's shape).
    if (typeof json.statusCode === 'number') {
      return { outcome: 'unreachable', reason: `HTTP ${firstLine(json.message ?? json.statusCode)}` };
    }
    const error = isObject(json.error) ? json.error : undefined;
    const code = typeof error?.code === 'string' ? error.code : typeof json.code === 'string' ? json.code : '';
    const summary = firstLine(error?.summary ?? json.message ?? '');
    if (NETWORK_CODES.has(code) || code.startsWith('TUF_') || /^E[45]\d\d$/.test(code)) {
      return { outcome: 'unreachable', reason: summary === '' ? code : `${code}: ${summary}` };
    }
    if (code !== '' || summary !== '') {
      return { outcome: 'error', reason: [code, summary].filter((part) => part !== '').join(': ') };
    }
  }
  const errors = npmErrorLines(run.stderr);
  const codeLine = errors.find((line) => line.startsWith('code '));
  const code = codeLine === undefined ? '' : codeLine.slice('code '.length).trim();
  if (NETWORK_CODES.has(code) || code.startsWith('TUF_') || /^E[45]\d\d$/.test(code)) {
    return { outcome: 'unreachable', reason: firstLine(errors.filter((line) => line !== codeLine).join('\n')) || code };
  }
  if (errors.some((line) => line.includes('audit endpoint returned an error'))) {
    const warning = run.stderr.split('\n').find((line) => line.startsWith('npm warn audit '));
    return { outcome: 'unreachable', reason: warning === undefined ? 'the audit endpoint returned an error' : firstLine(warning.slice('npm warn audit '.length)) };
  }
  const reason = firstLine(errors.join('\n')) || firstLine(run.stderr) || `npm exited with status ${String(run.status)} and no explanation`;
  return { outcome: 'error', reason };
}

/**
 * Classifies what `npm audit --json` did.
 * @param {NpmRun} run
 * @returns {AuditChecked | Unreachable | RunError}
 */
export function classifyAudit(run) {
  const json = parseJson(run.stdout);
  const counted = isObject(json) && isObject(json.metadata) ? json.metadata.vulnerabilities : undefined;
  if (!isObject(counted)) return classifyFailure(run, json);

  const reported = new Map(Object.entries(counted));
  const counts = Object.fromEntries(SEVERITIES.map((severity) => [severity, Number(reported.get(severity) ?? 0)]));
  const dependencies = Number(isObject(json.metadata.dependencies) ? json.metadata.dependencies.total ?? 0 : 0);
  const findings = [];
  for (const entry of Object.values(isObject(json.vulnerabilities) ? json.vulnerabilities : {})) {
    if (!isObject(entry) || !BLOCKING_SEVERITIES.includes(entry.severity)) continue;
    const via = Array.isArray(entry.via) ? entry.via : [];
    findings.push({
      name: String(entry.name),
      severity: String(entry.severity),
      range: String(entry.range ?? ''),
      // `via` holds advisories (objects) and the names of vulnerable dependencies (strings).
      advisories: via.filter(isObject).map((advisory) => ({ title: String(advisory.title ?? ''), url: String(advisory.url ?? '') })),
    });
  }
  findings.sort((a, b) => SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity) || a.name.localeCompare(b.name));
  const failed = counts.high > 0 || counts.critical > 0;
  return { outcome: 'checked', counts, dependencies, findings, failed };
}

/**
 * Classifies what `npm audit signatures --json` did.
 * @param {NpmRun} run
 * @returns {SignaturesChecked | Unreachable | RunError}
 */
export function classifySignatures(run) {
  const json = parseJson(run.stdout);
  if (isObject(json) && Array.isArray(json.invalid) && Array.isArray(json.missing)) {
    const pick = (entry) => ({ name: String(entry?.name), version: String(entry?.version), ...(entry?.code ? { code: String(entry.code) } : {}) });
    const invalid = json.invalid.map(pick);
    const missing = json.missing.map(pick);
    return { outcome: 'checked', invalid, missing, failed: invalid.length > 0 || missing.length > 0 };
  }
  return classifyFailure(run, json);
}

/** @param {AuditChecked | Unreachable | RunError} result */
export function formatAudit(result) {
  if (result.outcome === 'unreachable') {
    return [`npm audit: NOT CHECKED — the advisory service could not be reached (${result.reason})`];
  }
  if (result.outcome === 'error') return [`npm audit: FAILED — npm could not run the audit (${result.reason})`];
  // counts is built in SEVERITIES order; print the most severe first.
  const summary = Object.entries(result.counts).reverse().map(([severity, count]) => `${count} ${severity}`).join(', ');
  const lines = [`npm audit: ${result.dependencies} dependencies checked against the advisory service: ${summary}`];
  for (const finding of result.findings) {
    const advisories = finding.advisories.map((advisory) => `${advisory.title} ${advisory.url}`.trim());
    lines.push(`  ${finding.severity.padEnd(8)} ${finding.name}${finding.range ? ` ${finding.range}` : ''}${advisories.length > 0 ? `: ${advisories.join('; ')}` : ' (through a vulnerable dependency)'}`);
  }
  lines.push(result.failed ? 'npm audit: FAILED — high or critical advisories (run `npm audit` for the fixes)' : 'npm audit: passed — no high or critical advisories');
  return lines;
}

/** @param {SignaturesChecked | Unreachable | RunError} result */
export function formatSignatures(result) {
  if (result.outcome === 'unreachable') {
    return [`npm audit signatures: NOT CHECKED — the signing-key service could not be reached (${result.reason})`];
  }
  if (result.outcome === 'error') return [`npm audit signatures: FAILED — npm could not verify signatures (${result.reason})`];
  if (!result.failed) return ['npm audit signatures: passed — every installed package has a valid registry signature'];
  return [
    `npm audit signatures: FAILED — ${result.invalid.length} invalid, ${result.missing.length} missing`,
    ...result.invalid.map((entry) => `  invalid  ${entry.name}@${entry.version}${entry.code ? ` (${entry.code})` : ''}`),
    ...result.missing.map((entry) => `  missing  ${entry.name}@${entry.version}`),
  ];
}

/** The script's exit status for the two results: only findings and real failures fail it. */
export function exitStatus(...results) {
  return results.some((result) => result.outcome === 'error' || (result.outcome === 'checked' && result.failed)) ? 1 : 0;
}

// Few, short retries: an unreachable service otherwise costs minutes of back-off (71 s seen for
// `npm audit signatures` with npm's defaults) before it says so.
const FETCH_OPTIONS = ['--fetch-retries=1', '--fetch-retry-mintimeout=2000', '--fetch-retry-maxtimeout=5000', '--fetch-timeout=30000'];

/** Runs npm with the same npm that runs this script when there is one (`npm run audit:deps`). */
function runNpm(args, timeoutMs = 180_000) {
  const npmCli = process.env.npm_execpath;
  const [command, prefix] = npmCli && npmCli.endsWith('.js') ? [process.execPath, [npmCli]] : ['npm', []];
  const result = spawnSync(command, [...prefix, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (result.error && result.error.code !== 'ETIMEDOUT') throw result.error;
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', timedOut: result.error?.code === 'ETIMEDOUT' };
}

function main() {
  const audit = classifyAudit(runNpm(['audit', '--audit-level=high', '--json', ...FETCH_OPTIONS]));
  for (const line of formatAudit(audit)) console.log(line);
  const signatures = classifySignatures(runNpm(['audit', 'signatures', '--json', ...FETCH_OPTIONS]));
  for (const line of formatSignatures(signatures)) console.log(line);
  process.exitCode = exitStatus(audit, signatures);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
