// src/check/project/files.ts
// How the project checks read a folder: one bounded walk (no symlinks, no dependency or build
// folders), reads capped in size, and child processes (git, npm, eslint) with a deadline and a
// capped output. Every path here is under the folder the operator named with --project.

import { execFile } from 'node:child_process';
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** Folders never walked: dependencies, VCS data, build output, caches. */
export const skippedFolders: ReadonlySet<string> = new Set([
  'node_modules',
  '.git',
  '.hg',
  '.svn',
  'dist',
  'build',
  'out',
  'coverage',
  '.tools',
  '.cache',
  '.next',
  '.nuxt',
  '.turbo',
  'vendor',
  'bower_components',
  'jspm_packages',
  'tmp',
]);

export const maxWalkedFiles = 20_000;
const maxDepth = 12;
export const maxReadBytes = 1024 * 1024;

/** Relative paths (forward slashes) of the files under root, in a stable order, at most maxWalkedFiles. */
export async function walk(root: string): Promise<{ files: string[]; truncated: boolean }> {
  const files: string[] = [];
  let truncated = false;
  const visit = async (relative: string, depth: number): Promise<void> => {
    if (depth > maxDepth || truncated) return;
    let entries;
    try {
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- a folder under the one the operator named
      entries = await readdir(path.join(root, relative), { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!skippedFolders.has(entry.name)) await visit(child, depth + 1);
      } else if (entry.isFile()) {
        if (files.length >= maxWalkedFiles) {
          truncated = true;
          return;
        }
        files.push(child);
      }
    }
  };
  await visit('', 0);
  return { files, truncated };
}

/** A file's text, or undefined when it is missing, not a regular file, or larger than maxBytes. */
export async function readText(root: string, relative: string, maxBytes = maxReadBytes): Promise<string | undefined> {
  const full = path.join(root, relative);
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- a file under the folder the operator named
    const stat = await lstat(full);
    if (!stat.isFile() || stat.size > maxBytes) return undefined;
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- a file under the folder the operator named
    return await readFile(full, 'utf8');
  } catch {
    return undefined;
  }
}

export async function exists(root: string, relative: string): Promise<boolean> {
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- a path under the folder the operator named
    await lstat(path.join(root, relative));
    return true;
  } catch {
    return false;
  }
}

export interface ProcessResult {
  /** null when the process could not start or was killed at the deadline. */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly startError: string | undefined;
}

/** Runs a program (no shell) in `cwd` with a deadline; never throws. */
export function runProcess(file: string, args: readonly string[], options: { readonly cwd: string; readonly timeoutMs: number; readonly maxBuffer?: number }): Promise<ProcessResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      [...args],
      { cwd: options.cwd, timeout: options.timeoutMs, maxBuffer: options.maxBuffer ?? 32 * 1024 * 1024, windowsHide: true, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ exitCode: 0, stdout, stderr, timedOut: false, startError: undefined });
          return;
        }
        const failure = error as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
        const timedOut = failure.killed === true;
        if (typeof failure.code === 'number') {
          resolve({ exitCode: timedOut ? null : failure.code, stdout, stderr, timedOut, startError: undefined });
          return;
        }
        resolve({ exitCode: null, stdout, stderr, timedOut, startError: timedOut ? undefined : failure.message });
      },
    );
  });
}

/** Test, example, documentation and tooling folders: what they hold is not deployed. */
const nonDeployedFolder = /(?:^|\/)(?:test|tests|__tests__|spec|specs|e2e|fixtures|__fixtures__|__mocks__|examples?|scripts|docs|benchmarks?|stories)\//;

export function isDeployedPath(relative: string): boolean {
  return !nonDeployedFolder.test(relative);
}

/** Line number (1-based) of a character offset. */
export function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index && i < text.length; i++) if (text.charCodeAt(i) === 10) line += 1;
  return line;
}
