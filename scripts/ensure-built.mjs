#!/usr/bin/env node
// scripts/ensure-built.mjs: `npm start` builds first. The build is incremental, so an up-to-date
// dist/ costs a second or two; without TypeScript (a production install) an existing dist/ is used.

import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const entry = path.join(root, 'dist', 'src', 'main.js');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

if (!existsSync(tsc)) {
  if (existsSync(entry)) process.exit(0);
  console.error('dist/ is missing and TypeScript is not installed: run "npm install" (with dev dependencies) first.');
  process.exit(1);
}
const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
process.exit(result.status ?? 1);
