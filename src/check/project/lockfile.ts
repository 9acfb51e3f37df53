// src/check/project/lockfile.ts
// Practice 2 starts with knowing exactly what is installed: a committed lockfile, and lockfile-lint's
// rules on it (every `resolved` URL over https, every registry package with a sha512 integrity), the
// same rules `npm run lint:lockfile` applies to this repository.

import type { Finding } from '../finding.js';
import { fail, notChecked, pass, type CheckDefinition } from '../finding.js';
import type { ProjectCheckGroup, ProjectContext } from './context.js';
import { readText, runProcess } from './files.js';

/** Lockfiles of large projects run to several megabytes. */
const maxLockfileBytes = 64 * 1024 * 1024;

export const lockfileChecks = {
  committed: { practice: 2, id: 'lockfile-committed', title: 'A lockfile is committed', severity: 'medium' },
  https: { practice: 2, id: 'lockfile-https', title: 'Every resolved package URL in the lockfile uses https', severity: 'high' },
  integrity: { practice: 2, id: 'lockfile-integrity', title: 'Every registry package in the lockfile has a sha512 integrity', severity: 'medium' },
} as const satisfies Record<string, CheckDefinition>;

const lockfileNames = ['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lock', 'bun.lockb'];

export interface LockEntry {
  readonly name: string;
  readonly resolved: string | undefined;
  readonly integrity: string | undefined;
  readonly link: boolean;
}

/** Entries of an npm lockfile: v2/v3 `packages`, or v1's nested `dependencies`. */
export function lockEntries(lock: unknown): LockEntry[] {
  const entries: LockEntry[] = [];
  if (typeof lock !== 'object' || lock === null) return entries;
  const record = lock as { packages?: unknown; dependencies?: unknown };
  const str = (value: unknown) => (typeof value === 'string' ? value : undefined);
  if (typeof record.packages === 'object' && record.packages !== null) {
    for (const [key, value] of Object.entries(record.packages as Record<string, unknown>)) {
      if (key === '' || typeof value !== 'object' || value === null) continue;
      const item = value as Record<string, unknown>;
      entries.push({ name: key.replace(/^.*node_modules\//, ''), resolved: str(item.resolved), integrity: str(item.integrity), link: item.link === true });
    }
    return entries;
  }
  const visit = (dependencies: unknown) => {
    if (typeof dependencies !== 'object' || dependencies === null) return;
    for (const [name, value] of Object.entries(dependencies as Record<string, unknown>)) {
      if (typeof value !== 'object' || value === null) continue;
      const item = value as Record<string, unknown>;
      entries.push({ name, resolved: str(item.resolved), integrity: str(item.integrity), link: false });
      visit(item.dependencies);
    }
  };
  visit(record.dependencies);
  return entries;
}

function protocolOf(resolved: string): string | undefined {
  try {
    return new URL(resolved).protocol;
  } catch {
    return undefined;
  }
}

function listed(names: readonly string[]): string {
  return `${names.slice(0, 5).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}`;
}

export function lintLockfile(file: string, lock: unknown): Finding[] {
  const entries = lockEntries(lock).filter((entry) => !entry.link);
  // Local folders and tarballs (file:) are not fetched from anywhere.
  const remote = entries.filter((entry) => entry.resolved !== undefined && protocolOf(entry.resolved) !== 'file:' && !entry.resolved.startsWith('.') && !entry.resolved.startsWith('/'));
  const notHttps = remote.filter((entry) => protocolOf(entry.resolved ?? '') !== 'https:');
  const fromRegistry = remote.filter((entry) => /^https?:\/\/[^/]+\/.*\.tgz(?:$|\?)/.test(entry.resolved ?? ''));
  const noIntegrity = fromRegistry.filter((entry) => entry.integrity === undefined);
  const weakIntegrity = entries.filter((entry) => entry.integrity !== undefined && entry.integrity.split('-')[0] !== 'sha512');
  const location = [{ file }];
  return [
    notHttps.length === 0
      ? pass(lockfileChecks.https, `${remote.length} resolved URLs in ${file}, all https`)
      : fail(
          lockfileChecks.https,
          `${notHttps.length} not over https in ${file}: ${listed(notHttps.map((entry) => `${entry.name} (${entry.resolved ?? ''})`))}`,
          'point the registry at https (npm config set registry https://registry.npmjs.org/), delete the lockfile entries and reinstall; never install over plain http or git://',
          { locations: location },
        ),
    noIntegrity.length === 0 && weakIntegrity.length === 0
      ? pass(lockfileChecks.integrity, `${fromRegistry.length} registry packages in ${file}, all with sha512 integrity`)
      : fail(
          lockfileChecks.integrity,
          [
            noIntegrity.length > 0 ? `${noIntegrity.length} without integrity: ${listed(noIntegrity.map((entry) => entry.name))}` : '',
            weakIntegrity.length > 0 ? `${weakIntegrity.length} not sha512: ${listed(weakIntegrity.map((entry) => `${entry.name} (${entry.integrity?.split('-')[0] ?? ''})`))}` : '',
          ]
            .filter((part) => part !== '')
            .join('; '),
          'regenerate the lockfile with a current npm (rm package-lock.json && npm install) so every package carries a sha512 integrity',
          { locations: location },
        ),
  ];
}

async function committedFinding(context: ProjectContext, present: readonly string[]): Promise<Finding> {
  if (present.length === 0) {
    return fail(lockfileChecks.committed, `none of ${lockfileNames.join(', ')} in the folder`, 'run npm install once and commit package-lock.json; install with npm ci everywhere else', {
      locations: [{ file: 'package.json' }],
    });
  }
  const git = await runProcess('git', ['ls-files', '--error-unmatch', '--', ...present], { cwd: context.root, timeoutMs: 10_000 });
  if (git.exitCode === 0) return pass(lockfileChecks.committed, `${present.join(', ')} tracked by git`);
  if (git.exitCode === 1 && /did not match/.test(git.stderr)) {
    return fail(lockfileChecks.committed, `${present.join(', ')} present but not committed (git ls-files: ${git.stderr.trim().split('\n')[0] ?? ''})`, 'commit the lockfile (and remove it from .gitignore if it is listed there)', {
      locations: present.map((file) => ({ file })),
    });
  }
  return pass(lockfileChecks.committed, `${present.join(', ')} present; not a git work tree (or git is missing), so whether it is committed is not known`);
}

export const lockfileGroup: ProjectCheckGroup = {
  name: 'lockfile',
  practice: 2,
  async run(context) {
    const present = lockfileNames.filter((name) => context.files.includes(name));
    const findings: Finding[] = [await committedFinding(context, present)];
    const npmLock = present.find((name) => name === 'npm-shrinkwrap.json' || name === 'package-lock.json');
    if (npmLock === undefined) {
      const reason = present.length === 0 ? 'no lockfile to read' : `only ${present.join(', ')}: yarn, pnpm and bun lockfiles are not read (lockfile-lint --type yarn can)`;
      findings.push(notChecked(lockfileChecks.https, reason), notChecked(lockfileChecks.integrity, reason));
      return findings;
    }
    const text = await readText(context.root, npmLock, maxLockfileBytes);
    let lock: unknown;
    try {
      lock = text === undefined ? undefined : JSON.parse(text);
    } catch {
      lock = undefined;
    }
    if (lock === undefined) {
      const reason = `${npmLock} could not be read as JSON (or is larger than ${maxLockfileBytes / 1024 / 1024} MiB)`;
      findings.push(notChecked(lockfileChecks.https, reason), notChecked(lockfileChecks.integrity, reason));
      return findings;
    }
    findings.push(...lintLockfile(npmLock, lock));
    return findings;
  },
};
