// src/check/project-check.ts
// `portcullis check --project <folder>`: reads a Node.js project without running it and without the
// network (unless --online): lockfile, npm audit, Node.js versions, Dockerfile and systemd users,
// ESLint's security plugin, and Express source. Practices only a running site shows are reported as
// not checked, with the URL check to run instead.

import { stat } from 'node:fs/promises';
import path from 'node:path';
import { notChecked, type CheckDefinition, type Finding } from './finding.js';
import { silentProgress, type Progress } from './progress.js';
import { auditGroup } from './project/audit.js';
import { createReader, type PackageJson, type ProjectCheckGroup, type ProjectCheckOptions, type ProjectContext } from './project/context.js';
import { dockerGroup } from './project/docker.js';
import { eslintGroup } from './project/eslint.js';
import { expressSourceGroup } from './project/express-source.js';
import { maxWalkedFiles, walk } from './project/files.js';
import { lockfileGroup } from './project/lockfile.js';
import { nodeVersionGroup } from './project/node-version.js';
import { systemdGroup } from './project/systemd.js';
import { sortFindings, toolVersion, type Report } from './report.js';
import { CheckCannotRun } from './target.js';

export type ProjectCheckRunOptions = ProjectCheckOptions & { readonly progress?: Progress };

const groups: readonly ProjectCheckGroup[] = [lockfileGroup, auditGroup, nodeVersionGroup, dockerGroup, systemdGroup, eslintGroup, expressSourceGroup];

/** Practices a folder cannot show; the URL check sees them on the running site. */
const seenOnlyWhenRunning: readonly CheckDefinition[] = [
  { practice: 5, id: 'rate-limit', title: 'Requests are rate limited', severity: 'info' },
  { practice: 6, id: 'authentication', title: 'Strong authentication (password rules, MFA, lockout)', severity: 'info' },
  { practice: 7, id: 'error-details', title: 'Errors show no internals', severity: 'info' },
  { practice: 8, id: 'monitoring', title: 'The application is monitored', severity: 'info' },
  { practice: 10, id: 'input-validation', title: 'Input is validated', severity: 'info' },
];

export const projectCheckLimits: readonly string[] = [
  'Source is read statically: options built at run time, wrapper modules and re-exports are not followed. Source, Dockerfiles and systemd units under test, fixture, example, docs and scripts folders are not counted as deployed.',
  'Only npm lockfiles (package-lock.json, npm-shrinkwrap.json) are linted; yarn, pnpm and bun lockfiles are only noticed.',
  'npm audit runs only with --online, and only counts when the advisory service answers; ESLint runs only with --eslint.',
  `Folders such as node_modules, dist and .git are skipped; at most ${maxWalkedFiles} files are listed.`,
];

async function loadPackageJson(root: string, read: (relative: string) => Promise<string | undefined>): Promise<{ packageJson: PackageJson; text: string }> {
  const text = await read('package.json');
  if (text === undefined) throw new CheckCannotRun(`${root} has no package.json: give the folder of a Node.js project`);
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return { packageJson: parsed, text };
  } catch (error) {
    throw new CheckCannotRun(`${path.join(root, 'package.json')} is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

export async function runProjectCheck(folder: string, options: ProjectCheckRunOptions): Promise<Report> {
  const startedAt = new Date();
  const progress = options.progress ?? silentProgress;
  const root = path.resolve(folder);
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the folder the operator named
    if (!(await stat(root)).isDirectory()) throw new CheckCannotRun(`${root} is not a folder`);
  } catch (error) {
    if (error instanceof CheckCannotRun) throw error;
    throw new CheckCannotRun(`cannot read ${root}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const read = createReader(root);
  const { packageJson, text } = await loadPackageJson(root, read);
  progress.start('listing files');
  const { files, truncated } = await walk(root);
  progress.done('listing files');
  const context: ProjectContext = { root, packageJson, packageJsonText: text, files, filesTruncated: truncated, options, read };

  const results = await Promise.all(
    groups.map(async (group) => {
      progress.start(group.name);
      try {
        return await group.run(context);
      } catch (error) {
        // One check that breaks on an odd file must not take the whole report down with it.
        const message = error instanceof Error ? error.message : String(error);
        return [
          notChecked(
            { practice: group.practice, id: `check-error-${group.name.replace(/[^a-z0-9]+/g, '-')}`, title: `The ${group.name} checks ran`, severity: 'info' },
            `the ${group.name} checks stopped on an internal error: ${message.slice(0, 200)}`,
            'please report this with the file that caused it',
          ),
        ];
      } finally {
        progress.done(group.name);
      }
    }),
  );
  progress.stop();
  const findings: Finding[] = results.flat();
  for (const definition of seenOnlyWhenRunning) {
    findings.push(notChecked(definition, 'only visible on the running site', 'run portcullis check <url> against it'));
  }
  return {
    tool: { name: 'portcullis check', version: toolVersion() },
    target: { kind: 'project', value: root },
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    findings: sortFindings(findings),
    limits: projectCheckLimits,
  };
}
