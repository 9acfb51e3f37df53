// test/accounts/cli-user.test.ts
// `portcullis user` as an operator runs it: a real process, the password on standard input,
// exit codes from src/cli/exit-codes.ts, and users the service can then sign in.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcrypt';
import { loadConfig } from '../../src/config/load.js';
import { setUpAccounts } from '../../src/accounts/setup.js';
import { createLogger } from '../../src/observability/logger.js';
import { openDatabase } from '../../src/storage/database.js';
import { meta, strongPassword } from './harness.js';

const main = path.resolve(import.meta.dirname, '../../src/main.js');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe('portcullis user', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'portcullis-cli-user-'));
    env = { PATH: process.env.PATH, NODE_ENV: 'test', PORTCULLIS_DATA_DIR: path.join(dir, 'data'), PORTCULLIS_BCRYPT_COST: '10', PORTCULLIS_SECRET: 'c'.repeat(48) };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function run(args: string[], input = ''): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [main, 'user', ...args], { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => {
        resolve({ code, stdout, stderr });
      });
      child.stdin.end(input);
    });
  }

  it('creates the first admin with the password from standard input, never from the command line', async () => {
    const result = await run(['create', '--email', 'Root@Example.com', '--admin', '--name', 'Root'], `${strongPassword}\nignored second line\n`);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Created admin root@example\.com \(id [0-9a-f-]{36}\)\.$/m);
    assert.ok(!result.stdout.includes(strongPassword) && !result.stderr.includes(strongPassword));
  });

  it('creates users the server can sign in (same pepper, from the same master key)', async () => {
    const { config } = await loadConfig({ env, cwd: dir, euid: 1000 });
    const db = openDatabase(config.database);
    const accounts = setUpAccounts({ db, config, logger: createLogger({ level: 'silent', pretty: false }) });
    try {
      const user = await accounts.service.signIn({ email: 'root@example.com', password: strongPassword }, meta);
      assert.deepEqual({ role: user.role, verified: user.emailVerified, name: user.displayName }, { role: 'admin', verified: true, name: 'Root' });
    } finally {
      await accounts.close();
      await db.destroy();
    }
  });

  it('refuses weak passwords and taken addresses with exit code 1 and the reason', async () => {
    const weak = await run(['create', '--email', 'weak@example.com'], 'password\n');
    assert.equal(weak.code, 1);
    assert.match(weak.stderr, /password: This password has 8 characters; it needs at least 15/);
    const taken = await run(['create', '--email', 'root@example.com'], `${strongPassword}\n`);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /already exists/);
  });

  it('answers usage mistakes with exit code 2', async () => {
    for (const args of [['create'], ['frobnicate'], ['list', '--email', 'x@example.com'], ['import'], ['create', '--email', 'x@example.com', '--password', 'nope']]) {
      const result = await run(args, `${strongPassword}\n`);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    }
    assert.equal((await run(['create', '--email', 'empty@example.com'], '')).code, 2);
    const help = await run(['create', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /set-role --email EMAIL --role user\|admin/);
  });

  it('imports a JSON file all or nothing, then lists and changes roles', async () => {
    const hash = (await bcrypt.hash('imported passphrase here', 4)).replace(/^\$2b\$/, '$2y$');
    const good = path.join(dir, 'users.json');
    await writeFile(good, JSON.stringify([{ email: 'imp@example.com', passwordHash: hash, displayName: 'Imp' }, { email: 'root@example.com', passwordHash: hash }]));
    const imported = await run(['import', good]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /Imported 1 user; skipped 1/);

    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify([{ email: 'fine@example.com', passwordHash: hash }, { email: 'broken', passwordHash: 'plain' }]));
    const refused = await run(['import', bad]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /1\.email: Enter a valid email address/);
    assert.match(refused.stderr, /1\.passwordHash: expected a bcrypt hash/);
    const notJson = path.join(dir, 'broken.json');
    await writeFile(notJson, '{');
    assert.match((await run(['import', notJson])).stderr, /is not valid JSON/);

    const listed = await run(['list']);
    assert.equal(listed.code, 0);
    assert.match(listed.stdout, /imp@example\.com\s+user\s+no\s+no/);
    assert.doesNotMatch(listed.stdout, /fine@example\.com/);
    assert.match(listed.stdout, /^2 users$/m);

    assert.equal((await run(['set-role', '--email', 'imp@example.com', '--role', 'admin'])).code, 0);
    assert.match((await run(['list', '--search', 'imp'])).stdout, /imp@example\.com\s+admin/);
    assert.equal((await run(['set-role', '--email', 'imp@example.com', '--role', 'owner'])).code, 1);
  });
});
