// test/cli/production-refusals.test.ts
// Threat: an operator ships a production server with a setting that quietly weakens it (no master
// key, a short one, plain HTTP, a proxy trusted blindly, a data directory others can read, root).
// `portcullis serve` must refuse: exit 78 (EX_CONFIG), one stderr line naming the setting and its
// fix, no stack trace, and nothing served or logged because nothing was started.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { freePorts, makeWorkspace, runCli, stackFramePattern, startServe, type CliResult, type Workspace } from '../helpers/cli.js';

const isRoot = process.geteuid?.() === 0;

interface Case {
  readonly sentence: string;
  /** Changes to the otherwise valid production settings. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Set up the data directory before the run (it does not exist otherwise). */
  readonly dataDirMode?: number;
  readonly setting: string;
  readonly fix: RegExp;
  readonly skip?: string | false;
}

const cases: readonly Case[] = [
  {
    sentence: 'refuses to start without a master key',
    env: { PORTCULLIS_SECRET: undefined },
    setting: 'PORTCULLIS_SECRET',
    fix: /Fix: set PORTCULLIS_SECRET \(or PORTCULLIS_SECRET_FILE\) to at least 32 random bytes/,
  },
  {
    sentence: 'refuses a master key shorter than 32 bytes',
    env: { PORTCULLIS_SECRET: 'x'.repeat(31) },
    setting: 'PORTCULLIS_SECRET',
    fix: /31 bytes, shorter than 32\. Fix: generate one with: openssl rand/,
  },
  {
    sentence: 'refuses to start with no certificate and no trusted TLS proxy',
    env: { PORTCULLIS_TRUST_PROXY: undefined },
    setting: 'PORTCULLIS_TLS_CERT',
    fix: /Fix: set PORTCULLIS_TLS_CERT and PORTCULLIS_TLS_KEY, or PORTCULLIS_ACME_DIRECTORY_URL, or PORTCULLIS_TRUST_PROXY/,
  },
  {
    sentence: 'refuses PORTCULLIS_TRUST_PROXY=true, which would let any client choose its address',
    env: { PORTCULLIS_TRUST_PROXY: 'true' },
    setting: 'PORTCULLIS_TRUST_PROXY',
    fix: /Fix: set the number of proxies in front of Portcullis/,
  },
  {
    sentence: 'refuses a public URL that is plain http',
    env: { PORTCULLIS_PUBLIC_URL: 'http://accounts.example.test' },
    setting: 'PORTCULLIS_PUBLIC_URL',
    fix: /not https\. Fix: use the https:\/\/ address/,
  },
  {
    sentence: 'refuses a data directory that other users can read (mode 0755)',
    env: {},
    dataDirMode: 0o755,
    setting: 'PORTCULLIS_DATA_DIR',
    fix: /open to other users \(mode 755\)\. Fix: run chmod 700 /,
  },
  {
    sentence: 'refuses to run as root without PORTCULLIS_RUN_AS_USER',
    env: { PORTCULLIS_RUN_AS_USER: undefined },
    setting: 'PORTCULLIS_RUN_AS_USER',
    fix: /started as root without a user to drop to\. Fix: set PORTCULLIS_RUN_AS_USER to an unprivileged user/,
    skip: !isRoot && 'only a process started as root can be refused for being root',
  },
];

// The refusals bind nothing and each has its own workspace, so they run side by side.
describe('serve in production refuses unsafe settings', { concurrency: 3 }, () => {
  let ports: number[];
  before(async () => {
    ports = await freePorts(2);
  });

  /** A complete, valid production configuration; each case breaks exactly one thing in it. */
  function productionEnv(workspace: Workspace, changes: Case['env'] = {}): Record<string, string> {
    const env: Record<string, string | undefined> = {
      NODE_ENV: 'production',
      PORTCULLIS_DATA_DIR: workspace.dataDir,
      PORTCULLIS_HTTPS_PORT: String(ports[0]),
      PORTCULLIS_HTTP_PORT: String(ports[1]),
      PORTCULLIS_PUBLIC_URL: 'https://accounts.example.test',
      PORTCULLIS_SECRET: randomBytes(48).toString('base64'),
      // TLS ends at a proxy on this machine: production needs no certificate file then.
      PORTCULLIS_TRUST_PROXY: '127.0.0.1',
      PORTCULLIS_SHUTDOWN_TIMEOUT_MS: '1000',
      ...(isRoot ? { PORTCULLIS_RUN_AS_USER: 'nobody' } : {}),
      ...changes,
    };
    return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  }

  const workspaces: Workspace[] = [];
  after(async () => {
    await Promise.all(workspaces.map((workspace) => workspace.cleanup()));
  });
  async function workspace(): Promise<Workspace> {
    const made = await makeWorkspace();
    workspaces.push(made);
    return made;
  }

  it('starts with the baseline settings, so each refusal below is caused by the one setting it changes', async () => {
    const space = await workspace();
    const server = await startServe({ env: productionEnv(space), cwd: space.root });
    const result = await server.stop('SIGTERM');
    assert.equal(result.code, 0, result.stderr);
    assert.ok(server.logs().some((line) => line.msg === 'stopped'));
  });

  for (const testCase of cases) {
    it(`${testCase.sentence}, exiting 78 with a line naming ${testCase.setting} and the fix`, { skip: testCase.skip ?? false }, async () => {
      const space = await workspace();
      if (testCase.dataDirMode !== undefined) {
        await mkdir(space.dataDir);
        // chmod, not mkdir's mode: the umask would mask it.
        await chmod(space.dataDir, testCase.dataDirMode);
      }
      const result: CliResult = await runCli(['serve'], { env: productionEnv(space, testCase.env), cwd: space.root, timeoutMs: 15_000 });

      assert.equal(result.code, 78, `exit code; stderr: ${result.stderr}`);
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines[0], 'portcullis: refusing to start because of the configuration:');
      // Exactly one problem: the setting the case changed, and how to fix it.
      assert.equal(lines.length, 2, result.stderr);
      assert.ok(lines[1]?.startsWith(`${testCase.setting}: `), lines[1]);
      assert.match(lines[1] ?? '', testCase.fix);
      assert.doesNotMatch(result.stderr, stackFramePattern);
      // Nothing was started: no logger, so not one log line, and certainly no "listening".
      assert.equal(result.stdout, '');
      if (testCase.dataDirMode === undefined) {
        await assert.rejects(stat(space.dataDir), { code: 'ENOENT' }, 'the data directory must not be created');
      }
    });
  }

  it('refuses a PORTCULLIS_RUN_AS_USER that does not exist before binding any port', { skip: !isRoot && 'needs root' }, async () => {
    const space = await workspace();
    const result = await runCli(['serve'], { env: productionEnv(space, { PORTCULLIS_RUN_AS_USER: 'no-such-user-pc' }), cwd: space.root });
    assert.equal(result.code, 78, result.stderr);
    assert.match(result.stderr, /^PORTCULLIS_RUN_AS_USER: the user "no-such-user-pc" does not exist on this machine\. Fix: /m);
    assert.doesNotMatch(result.stderr, stackFramePattern);
    assert.ok(!parseListening(result), 'it must not have listened');
  });

  it('refuses PORTCULLIS_RUN_AS_USER=root', { skip: !isRoot && 'needs root' }, async () => {
    const space = await workspace();
    const result = await runCli(['serve'], { env: productionEnv(space, { PORTCULLIS_RUN_AS_USER: 'root' }), cwd: space.root });
    assert.equal(result.code, 78, result.stderr);
    assert.match(result.stderr, /^PORTCULLIS_RUN_AS_USER: "root" is root or in the root group; choose an unprivileged user\. Fix: /m);
    assert.ok(!parseListening(result), 'it must not have listened');
  });
});

function parseListening(result: CliResult): boolean {
  return /listening/i.test(result.stdout);
}
