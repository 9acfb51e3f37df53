// test/supply-chain/sbom.test.ts
// Practice 2: `npm sbom` (behind `npm run sbom`) describes what is installed: a CycloneDX document
// that names the server's own dependencies with their exact versions and hashes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

interface Component {
  name: string;
  version?: string;
  purl?: string;
  hashes?: { alg: string; content: string }[];
}
interface CycloneDx {
  bomFormat: string;
  specVersion: string;
  components: Component[];
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

/** Runs npm: the npm that runs the tests (`npm test`) when there is one, else the one on PATH. */
function npm(args: string[]) {
  const npmCli = process.env.npm_execpath;
  const [command, prefix] = npmCli?.endsWith('.js') === true ? [process.execPath, [npmCli]] : ['npm', []];
  return spawnSync(command, [...prefix, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
}

function installedVersion(name: string): string {
  const manifest = JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

describe('software bill of materials', () => {
  it('lists express, helmet and better-sqlite3 with their installed versions and sha512 hashes', () => {
    const result = npm(['sbom', '--sbom-format', 'cyclonedx', '--sbom-type', 'application']);
    assert.equal(result.status, 0, result.stderr);
    const sbom = JSON.parse(result.stdout) as CycloneDx;
    assert.equal(sbom.bomFormat, 'CycloneDX');
    assert.match(sbom.specVersion, /^1\.\d+$/);
    for (const name of ['express', 'helmet', 'better-sqlite3']) {
      const version = installedVersion(name);
      const component = sbom.components.find((candidate) => candidate.name === name);
      assert.ok(component, `${name} is listed`);
      assert.equal(component.version, version, `${name}'s version`);
      assert.equal(component.purl, `pkg:npm/${name}@${version}`);
      assert.ok(component.hashes?.some((hash) => hash.alg === 'SHA-512' && /^[0-9a-f]{128}$/.test(hash.content)), `${name} has a SHA-512 hash`);
    }
  });
});
