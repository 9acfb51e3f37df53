// test/helpers/observatory.ts
// Runs the MDN HTTP Observatory scanner (installed apart from the project, in .tools/observatory,
// by `node scripts/observatory-scan.mjs install`) against a loopback server and returns its verdict.

import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import path from 'node:path';

const repositoryRoot = path.resolve(import.meta.dirname, '..', '..', '..');

/** Where the scanner lives; PORTCULLIS_OBSERVATORY_DIR overrides .tools/observatory. */
export const observatoryDir = path.resolve(process.env.PORTCULLIS_OBSERVATORY_DIR ?? path.join(repositoryRoot, '.tools', 'observatory'));
const packageDir = path.join(observatoryDir, 'node_modules', '@mdn', 'mdn-http-observatory');
export const observatoryScanner = path.join(packageDir, 'src', 'scan.js');

export interface ObservatoryTest {
  readonly expectation: string;
  readonly pass: boolean;
  readonly result: string;
  readonly scoreModifier: number;
}

export interface ObservatoryReport {
  readonly scan: { readonly grade: string; readonly score: number; readonly testsPassed: number; readonly testsQuantity: number; readonly statusCode: number };
  readonly tests: Readonly<Record<string, ObservatoryTest>>;
}

const installHint = 'install it with: node scripts/observatory-scan.mjs install (CI runs this before the tests)';

/** Fails with the fix in the message when the scanner or its data file is missing. */
export async function assertObservatoryInstalled(): Promise<void> {
  try {
    await access(observatoryScanner);
  } catch {
    throw new Error(`the MDN HTTP Observatory scanner is not installed at ${observatoryDir}; ${installHint}`);
  }
  try {
    await access(path.join(packageDir, 'conf', 'hsts-preload.json'));
  } catch {
    throw new Error(`the Observatory's conf/hsts-preload.json is missing (its postinstall cannot download it offline); ${installHint}`);
  }
}

/**
 * Scans https://<target>/ (target is host:port). The scanner trusts the given CA through
 * NODE_EXTRA_CA_CERTS, so a self-signed test certificate counts as valid and HSTS is scored.
 */
export async function scanWithObservatory(target: string, caFile: string, timeoutMs = 30_000): Promise<ObservatoryReport> {
  await assertObservatoryInstalled();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [observatoryScanner, target], {
      cwd: packageDir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_EXTRA_CA_CERTS: caFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the Observatory scan of ${target} took longer than ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      let parsed: unknown;
      try {
        parsed = JSON.parse(stdout);
      } catch {
        reject(new Error(`the Observatory printed no JSON (exit ${String(code)}):\n${stdout}\n${stderr}`));
        return;
      }
      if (typeof parsed === 'object' && parsed !== null && 'error' in parsed && !('scan' in parsed)) {
        reject(new Error(`the Observatory could not scan ${target}: ${String(parsed.error)}\n${stderr}`));
        return;
      }
      resolve(parsed as ObservatoryReport);
    });
  });
}

/** One line per Observatory test, for failure messages and logs. */
export function formatObservatoryTests(report: ObservatoryReport): string {
  return Object.entries(report.tests)
    .map(([name, test]) => `${test.pass ? 'pass' : 'FAIL'} ${String(test.scoreModifier).padStart(4)}  ${name}: ${test.result}`)
    .join('\n');
}
