#!/usr/bin/env node
// scripts/run-tests.mjs: runs every compiled test file with Node's built-in test runner.
// Usage: node scripts/run-tests.mjs [filter]   (filter: a substring of the test file path)
// A run that finds no test file fails: a suite that tests nothing must not pass.

import { readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..');
const testRoot = path.join(root, 'dist', 'test');
const filter = process.argv[2];

function collect(folder) {
  const found = [];
  for (const entry of readdirSync(folder)) {
    const full = path.join(folder, entry);
    if (statSync(full).isDirectory()) found.push(...collect(full));
    else if (entry.endsWith('.test.js')) found.push(full);
  }
  return found;
}

const files = collect(testRoot).filter((file) => filter === undefined || file.includes(filter)).sort();
if (files.length === 0) {
  console.error(`no test files found under ${testRoot}${filter ? ` matching "${filter}"` : ''}`);
  process.exit(1);
}
const concurrency = process.env.PORTCULLIS_TEST_CONCURRENCY ?? '2';
// A test that hangs fails after five minutes instead of holding the whole run until CI's limit.
const timeoutMs = process.env.PORTCULLIS_TEST_TIMEOUT_MS ?? '300000';
const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, `--test-timeout=${timeoutMs}`, '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(result.status ?? 1);
