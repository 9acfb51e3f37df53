// test/cli/privileges.test.ts
// Threat (practice 1): a server that keeps root turns any exploit into control of the machine.
// Started as root, `portcullis serve` must hand its data directory to an unprivileged user and
// give up every root id (real, effective, saved, filesystem; gid and supplementary groups too)
// before it answers requests. Checked from outside, in the kernel's own /proc/PID/status.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { request } from '../helpers/https-client.js';
import { freePorts, makeWorkspace, parseLogLines, repoRoot, runCli, startServe, type RunningCli, type Workspace } from '../helpers/cli.js';

const isRoot = process.geteuid?.() === 0;
const skip = !isRoot && 'dropping privileges can only be tested when the tests run as root (as in CI)';
const testUser = 'portcullis-test';

interface KernelIds {
  /** Real, effective, saved set, filesystem. */
  readonly uids: number[];
  readonly gids: number[];
  readonly groups: number[];
}

/** Reads the ids the kernel holds for the process (not what the process believes about itself). */
async function kernelIds(pid: number): Promise<KernelIds> {
  const status = await readFile(`/proc/${String(pid)}/status`, 'utf8');
  const field = (name: string): number[] => {
    const line = status.split('\n').find((candidate) => candidate.startsWith(`${name}:`));
    assert.ok(line !== undefined, `/proc/${String(pid)}/status has a ${name} line`);
    return line
      .slice(name.length + 1)
      .trim()
      .split(/\s+/)
      .filter((value) => value !== '')
      .map(Number);
  };
  return { uids: field('Uid'), gids: field('Gid'), groups: field('Groups') };
}

function idOf(user: string, flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());
}

/** Creates the system user the test drops to, unless it already exists. */
function ensureTestUser(): void {
  try {
    execFileSync('id', ['-u', testUser], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', testUser], { stdio: 'ignore' });
  }
}

/** Every path under the folder, the folder included. */
async function walk(folder: string): Promise<string[]> {
  const found = [folder];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) found.push(...(await walk(full)));
    else found.push(full);
  }
  return found;
}

async function assertServesHealthz(server: RunningCli, dataDir: string): Promise<void> {
  const ca = await readFile(path.join(dataDir, 'tls', 'cert.pem'), 'utf8');
  const response = await request(server.url, '/healthz', { ca });
  assert.equal(response.status, 200);
  assert.deepEqual(response.json(), { status: 'ok' });
}

async function assertRunsAs(pid: number, uid: number, gid: number): Promise<void> {
  const ids = await kernelIds(pid);
  assert.equal(ids.uids.length, 4, 'four uids: real, effective, saved, filesystem');
  assert.equal(ids.gids.length, 4, 'four gids: real, effective, saved, filesystem');
  assert.deepEqual(ids.uids, [uid, uid, uid, uid]);
  assert.deepEqual(ids.gids, [gid, gid, gid, gid]);
  for (const id of [...ids.uids, ...ids.gids]) assert.notEqual(id, 0, 'no root id is left');
  assert.ok(!ids.groups.includes(0), `the root group is not a supplementary group (Groups: ${ids.groups.join(' ')})`);
}

async function assertOwnedBy(dataDir: string, uid: number, gid: number): Promise<void> {
  const folder = await stat(dataDir);
  assert.equal(folder.mode & 0o777, 0o700, 'the data directory is private to its owner');
  for (const file of await walk(dataDir)) {
    const info = await stat(file);
    assert.equal(info.uid, uid, `${file} belongs to the unprivileged user`);
    assert.equal(info.gid, gid, `${file} belongs to the unprivileged group`);
  }
}

describe('serve started as root', { skip }, () => {
  const workspaces: Workspace[] = [];
  const servers: RunningCli[] = [];

  before(() => {
    ensureTestUser();
  });
  after(async () => {
    await Promise.all(servers.map((server) => server.stop('SIGKILL')));
    await Promise.all(workspaces.map((workspace) => workspace.cleanup()));
  });

  async function serveEnv(env: Record<string, string>): Promise<{ env: Record<string, string>; workspace: Workspace }> {
    const workspace = await makeWorkspace();
    workspaces.push(workspace);
    const ports = await freePorts(2);
    return { env: { PORTCULLIS_DATA_DIR: workspace.dataDir, PORTCULLIS_HTTPS_PORT: String(ports[0]), PORTCULLIS_HTTP_PORT: String(ports[1]), ...env }, workspace };
  }

  async function serveAsRoot(env: Record<string, string>): Promise<{ server: RunningCli; workspace: Workspace }> {
    const { env: serveEnvironment, workspace } = await serveEnv(env);
    const server = await startServe({ env: serveEnvironment, cwd: workspace.root });
    servers.push(server);
    return { server, workspace };
  }

  it('drops every root id to PORTCULLIS_RUN_AS_USER and gives it the data directory, while serving', async () => {
    const uid = idOf(testUser, '-u');
    const gid = idOf(testUser, '-g');
    assert.ok(uid > 0 && gid > 0, 'the test user is not root');
    const { server, workspace } = await serveAsRoot({ NODE_ENV: 'development', PORTCULLIS_RUN_AS_USER: testUser });

    await assertServesHealthz(server, workspace.dataDir);
    await assertRunsAs(server.pid, uid, gid);
    await assertOwnedBy(workspace.dataDir, uid, gid);
    assert.ok(server.logs().some((line) => line.msg === `dropped root privileges to ${testUser}` && line.uid === uid));

    const result = await server.stop('SIGTERM');
    assert.equal(result.code, 0, result.stderr);
  });

  it('drops to "nobody" in development when PORTCULLIS_RUN_AS_USER is not set, and says so', async () => {
    const uid = idOf('nobody', '-u');
    const gid = idOf('nobody', '-g');
    const { server, workspace } = await serveAsRoot({ NODE_ENV: 'development' });

    await assertServesHealthz(server, workspace.dataDir);
    await assertRunsAs(server.pid, uid, gid);
    await assertOwnedBy(workspace.dataDir, uid, gid);
    assert.ok(server.logs().some((line) => line.level === 'warn' && /without PORTCULLIS_RUN_AS_USER: dropping to "nobody"/.test(String(line.msg))));

    const result = await server.stop('SIGTERM');
    assert.equal(result.code, 0, result.stderr);
  });

  it('refuses to start when that user cannot read the application, naming the setting and the fix', async () => {
    // The build, inside a folder only root may enter (mkdtemp makes it 0700), as a checkout under
    // /root or in a private temporary folder is. Dependencies are this tree's (readable).
    const locked = await mkdtemp(path.join(tmpdir(), 'portcullis-private-'));
    const app = path.join(locked, 'app');
    try {
      await mkdir(path.join(app, 'dist'), { recursive: true });
      await cp(path.join(repoRoot, 'dist', 'src'), path.join(app, 'dist', 'src'), { recursive: true });
      for (const part of ['public', 'resources', 'package.json']) await cp(path.join(repoRoot, part), path.join(app, part), { recursive: true });
      await symlink(path.join(repoRoot, 'node_modules'), path.join(app, 'node_modules'), 'dir');
      assert.equal((await stat(locked)).mode & 0o777, 0o700);

      const { env, workspace } = await serveEnv({ NODE_ENV: 'development', PORTCULLIS_RUN_AS_USER: testUser });
      const result = await runCli(['serve'], { entry: path.join(app, 'dist', 'src', 'main.js'), env, cwd: workspace.root, timeoutMs: 60_000 });

      assert.equal(result.code, ExitCode.config, `exits with the configuration code\nstderr: ${result.stderr}`);
      assert.equal(
        result.stderr,
        'portcullis: refusing to start because of the configuration:\n' +
          `PORTCULLIS_RUN_AS_USER: the user "${testUser}" cannot read ${app}/dist/src, which the server reads while serving. ` +
          `Fix: let that user read the application's files (for example: chmod o+rX ${locked}), or run as a user that can.\n`,
      );
      const logs = parseLogLines(result.stdout);
      assert.ok(logs.some((line) => line.msg === `dropped root privileges to ${testUser}`), 'the check runs as the user, after the drop');
      assert.ok(!logs.some((line) => typeof line.listening === 'string'), 'it never says it is listening');
    } finally {
      await rm(locked, { recursive: true, force: true });
    }
  });
});
