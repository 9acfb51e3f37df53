// test/supply-chain/lockfile.test.ts
// Practice 2: every package in package-lock.json is pinned by a sha512 hash, and nothing is fetched
// over plain http. Threat: an entry without integrity lets `npm ci` install whatever its source
// serves, unverified; lockfile-lint lets such an entry through when the lockfile has no `resolved`
// addresses (as ours has: the machines set omit-lockfile-registry-resolved), so
// scripts/lockfile-check.mjs checks it. These fixtures plant one problem each.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface LockfileProblem { entry: string; problem: string }
interface LockfileReport { entries: number; resolved: number; problems: LockfileProblem[] }
interface LockfileScript {
  checkLockfile(lock: unknown): LockfileReport;
  formatReport(report: LockfileReport, file: string): string[];
}

// The compiled test runs from dist/test/supply-chain: find the repository by its package.json.
function repositoryRoot(): string {
  let folder = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(folder, 'package.json'))) {
    const parent = path.dirname(folder);
    if (parent === folder) throw new Error('no package.json above the test file');
    folder = parent;
  }
  return folder;
}
const root = repositoryRoot();
const scriptPath = path.join(root, 'scripts', 'lockfile-check.mjs');
const script = (await import(pathToFileURL(scriptPath).href)) as LockfileScript;

const sha512 = (text: string) => `sha512-${createHash('sha512').update(text).digest('base64')}`;
const sha1 = (text: string) => `sha1-${createHash('sha1').update(text).digest('base64')}`;

/** A lockfile v3 with the project, one good package, and the given extra entries. */
function lockfile(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'fixture',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'fixture', version: '1.0.0', dependencies: { good: '^1.0.0' } },
      'node_modules/good': { version: '1.0.0', integrity: sha512('good') },
      ...extra,
    },
  };
}

const folder = mkdtempSync(path.join(tmpdir(), 'portcullis-lockfile-'));
after(() => {
  rmSync(folder, { recursive: true, force: true });
});

/** Runs the command on a fixture written to disk, as `npm run lint:lockfile` runs it. */
function runCheck(name: string, lock: unknown) {
  const file = path.join(folder, `${name}.json`);
  writeFileSync(file, JSON.stringify(lock, null, 2));
  return spawnSync(process.execPath, [scriptPath, file], { encoding: 'utf8' });
}

describe('lockfile check', () => {
  it('passes a lockfile whose every package has a sha512 hash and no addresses', () => {
    const report = script.checkLockfile(lockfile({ 'node_modules/@scope/pkg': { version: '2.0.0', integrity: sha512('scoped') } }));
    assert.deepEqual(report, { entries: 2, resolved: 0, problems: [] });
  });

  it('refuses a package with no integrity hash', () => {
    const report = script.checkLockfile(lockfile({ 'node_modules/unpinned': { version: '1.0.0' } }));
    assert.deepEqual(report.problems, [{ entry: 'node_modules/unpinned', problem: 'has no integrity hash' }]);
  });

  it('refuses a sha1 hash, alone or beside a sha512 one', () => {
    const report = script.checkLockfile(lockfile({
      'node_modules/old': { version: '0.1.0', integrity: sha1('old') },
      'node_modules/mixed': { version: '0.2.0', integrity: `${sha512('mixed')} ${sha1('mixed')}` },
    }));
    assert.deepEqual(report.problems, [
      { entry: 'node_modules/old', problem: 'has a sha1 integrity hash; only sha512 is accepted' },
      { entry: 'node_modules/mixed', problem: 'has a sha1 integrity hash; only sha512 is accepted' },
    ]);
  });

  it('refuses a sha512 hash that is not 64 bytes of base64', () => {
    const report = script.checkLockfile(lockfile({ 'node_modules/short': { version: '1.0.0', integrity: 'sha512-AAAA' } }));
    assert.deepEqual(report.problems, [{ entry: 'node_modules/short', problem: 'has a malformed sha512 integrity hash' }]);
  });

  it('refuses a package resolved over plain http', () => {
    const report = script.checkLockfile(lockfile({
      'node_modules/plain': { version: '1.0.0', resolved: 'http://registry.invalid/plain/-/plain-1.0.0.tgz', integrity: sha512('plain') },
    }));
    assert.deepEqual(report.problems, [{ entry: 'node_modules/plain', problem: 'is resolved over http, not https: http://registry.invalid/plain/-/plain-1.0.0.tgz' }]);
    assert.equal(report.resolved, 1);
  });

  it('refuses a git dependency, which has neither https nor an integrity hash', () => {
    const report = script.checkLockfile(lockfile({ 'node_modules/forked': { version: '1.0.0', resolved: 'git+ssh://git@git.invalid/someone/forked.git#0123456789abcdef' } }));
    assert.deepEqual(report.problems.map((problem) => problem.problem), ['has no integrity hash', 'is resolved over git+ssh, not https: git+ssh://git@git.invalid/someone/forked.git#0123456789abcdef']);
  });

  it("refuses a registry address that serves another package's tarball", () => {
    const report = script.checkLockfile(lockfile({
      'node_modules/express': { version: '5.0.0', resolved: 'https://registry.invalid/expresss/-/expresss-5.0.0.tgz', integrity: sha512('typo') },
    }));
    assert.deepEqual(report.problems.map((problem) => problem.problem), ["is resolved to another package's tarball (expresss): https://registry.invalid/expresss/-/expresss-5.0.0.tgz"]);
  });

  it('accepts https addresses of the package itself, scoped, nested or aliased', () => {
    const report = script.checkLockfile(lockfile({
      'node_modules/@scope/pkg': { version: '1.0.0', resolved: 'https://registry.invalid/@scope/pkg/-/pkg-1.0.0.tgz', integrity: sha512('a') },
      'node_modules/a/node_modules/b': { version: '1.0.0', resolved: 'https://registry.invalid/b/-/b-1.0.0.tgz', integrity: sha512('b') },
      'node_modules/alias': { name: 'real', version: '1.0.0', resolved: 'https://registry.invalid/real/-/real-1.0.0.tgz', integrity: sha512('c') },
    }));
    assert.deepEqual(report.problems, []);
    assert.equal(report.resolved, 3);
  });

  it('skips the project itself, workspace links and bundled packages, which have no hash of their own', () => {
    const report = script.checkLockfile(lockfile({
      'node_modules/local': { resolved: 'packages/local', link: true },
      'node_modules/parent/node_modules/bundled': { version: '1.0.0', inBundle: true },
    }));
    assert.deepEqual(report, { entries: 1, resolved: 0, problems: [] });
  });

  it('refuses a lockfile without a packages section (lockfileVersion 1)', () => {
    const report = script.checkLockfile({ name: 'old', lockfileVersion: 1, dependencies: {} });
    assert.equal(report.problems.length, 1);
    assert.match(report.problems[0]?.problem ?? '', /lockfileVersion 2 or 3 is required/);
  });

  it('exits 1 and names each problem, or exits 0 with a count', () => {
    const bad = runCheck('bad', lockfile({ 'node_modules/unpinned': { version: '1.0.0' }, 'node_modules/old': { version: '1.0.0', integrity: sha1('old') } }));
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /2 problems in 3 packages/);
    assert.match(bad.stderr, /node_modules\/unpinned has no integrity hash/);
    assert.match(bad.stderr, /node_modules\/old has a sha1 integrity hash/);
    const good = runCheck('good', lockfile());
    assert.equal(good.status, 0, good.stderr);
    assert.match(good.stdout, /1 package, each with a sha512 integrity hash/);
  });

  it('exits 1 on a file that is not JSON', () => {
    const file = path.join(folder, 'broken.json');
    writeFileSync(file, '{ "lockfileVersion": 3,');
    const result = spawnSync(process.execPath, [scriptPath, file], { encoding: 'utf8' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /cannot read/);
  });

  it("passes the project's own package-lock.json", () => {
    const lock: unknown = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
    const report = script.checkLockfile(lock);
    assert.deepEqual(report.problems, []);
    assert.ok(report.entries > 50, `${report.entries} packages`);
  });
});
