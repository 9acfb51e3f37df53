// test/docs/readme.test.ts
// The README is part of the product: its quickstart is the two commands the brief promises, and
// its configuration table names every setting the server reads, so the two cannot drift apart.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { settingNames } from '../../src/config/settings.js';

const readmePath = fileURLToPath(new URL('../../../README.md', import.meta.url));

describe('README.md', () => {
  it('starts with the two-command quickstart', async () => {
    const readme = await readFile(readmePath, 'utf8');
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const commands = firstBlock.split('\n').filter((line) => line.trim() !== '').map((line) => line.split('#')[0]?.trim());
    assert.deepEqual(commands, ['npm install && npm start', 'npm test']);
    assert.ok(readme.indexOf('```sh') < readme.indexOf('## '), 'the quickstart comes before any section');
  });

  it('documents every setting in its configuration table', async () => {
    const readme = await readFile(readmePath, 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## ', readme.indexOf('## Configuration') + 5));
    const missing = settingNames.filter((name) => !table.includes(`\`${name}\``));
    assert.deepEqual(missing, [], 'settings missing from the README configuration table');
  });
});
