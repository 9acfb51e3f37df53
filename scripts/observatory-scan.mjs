#!/usr/bin/env node
// scripts/observatory-scan.mjs: installs the MDN HTTP Observatory scanner apart from the project
// (in .tools/observatory, git-ignored) and runs it against a local HTTPS server.
//
// Usage:
//   node scripts/observatory-scan.mjs install
//       Installs @mdn/mdn-http-observatory into .tools/observatory (idempotent). Its install
//       scripts download data from the internet and fail offline, so they are not run; the one
//       data file the scanner needs (conf/hsts-preload.json) is written as an empty list instead.
//   node scripts/observatory-scan.mjs scan HOST:PORT --ca CERT.pem
//       Prints the scanner's JSON for https://HOST:PORT/, trusting CERT.pem (a self-signed
//       development certificate) through NODE_EXTRA_CA_CERTS. Exits 1 below grade A+.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..');
const toolDir = path.resolve(process.env.PORTCULLIS_OBSERVATORY_DIR ?? path.join(root, '.tools', 'observatory'));
const version = '1.4.8';
const packageDir = path.join(toolDir, 'node_modules', '@mdn', 'mdn-http-observatory');
const scanner = path.join(packageDir, 'src', 'scan.js');
const preloadList = path.join(packageDir, 'conf', 'hsts-preload.json');

function installedVersion() {
  try {
    return JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

function install() {
  if (installedVersion() !== version || !existsSync(scanner)) {
    mkdirSync(toolDir, { recursive: true });
    // allowScripts documents the intent for npm versions that read it; --ignore-scripts enforces it.
    writeFileSync(
      path.join(toolDir, 'package.json'),
      `${JSON.stringify({ name: 'portcullis-observatory-tool', private: true, allowScripts: { node_extra_ca_certs_mozilla_bundle: false } }, null, 2)}\n`,
    );
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const result = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--save-exact', `@mdn/mdn-http-observatory@${version}`], {
      cwd: toolDir,
      stdio: 'inherit',
    });
    if (result.status !== 0) {
      console.error(`observatory-scan: npm install of @mdn/mdn-http-observatory@${version} failed (exit ${result.status})`);
      process.exit(1);
    }
  }
  // The HSTS preload list is downloaded by the package's postinstall; an empty one means "no
  // domain is preloaded", which is true of loopback.
  if (!existsSync(preloadList)) writeFileSync(preloadList, '{}\n');
  console.log(`observatory-scan: @mdn/mdn-http-observatory@${installedVersion()} ready in ${toolDir}`);
}

function scan(args) {
  const target = args[0];
  const caIndex = args.indexOf('--ca');
  const ca = caIndex === -1 ? undefined : args[caIndex + 1];
  if (target === undefined || target.startsWith('-') || ca === undefined) {
    console.error('usage: node scripts/observatory-scan.mjs scan HOST:PORT --ca CERT.pem');
    process.exit(2);
  }
  if (!existsSync(scanner) || !existsSync(preloadList)) {
    console.error(`observatory-scan: the scanner is not installed in ${toolDir}; run: node scripts/observatory-scan.mjs install`);
    process.exit(1);
  }
  // The package's own wrapper overwrites NODE_EXTRA_CA_CERTS, so its scan.js is run directly.
  const result = spawnSync(process.execPath, [scanner, target], {
    cwd: packageDir,
    env: { ...process.env, NODE_EXTRA_CA_CERTS: path.resolve(ca) },
    encoding: 'utf8',
    timeout: 60_000,
  });
  process.stdout.write(result.stdout ?? '');
  process.stderr.write(result.stderr ?? '');
  let grade;
  try {
    grade = JSON.parse(result.stdout).scan?.grade;
  } catch {
    grade = undefined;
  }
  process.exit(grade === 'A+' ? 0 : 1);
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'install') install();
else if (command === 'scan') scan(rest);
else {
  console.error('usage: node scripts/observatory-scan.mjs install | scan HOST:PORT --ca CERT.pem');
  process.exit(2);
}
