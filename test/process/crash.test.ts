// test/process/crash.test.ts
// An uncaught exception or unhandled rejection is logged, the server closes gracefully, and the
// process exits non-zero so a supervisor restarts it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

async function runUntilExit(mode: 'exception' | 'rejection'): Promise<{ code: number | null; lines: Record<string, unknown>[] }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'portcullis-crash-'));
  try {
    const child = spawn(process.execPath, ['--import', path.join(root, 'dist/test/fixtures/crash-after-start.js'), path.join(root, 'dist/src/main.js'), 'serve'], {
      cwd: dataDir,
      env: {
        PATH: process.env.PATH,
        PORTCULLIS_DATA_DIR: dataDir,
        PORTCULLIS_HTTPS_PORT: '0',
        PORTCULLIS_HTTP_PORT: 'off',
        PORTCULLIS_LOG_FORMAT: 'json',
        PORTCULLIS_TEST_CRASH: mode,
        // Run as a non-root user when the suite runs as root, so no privilege drop is needed here.
        ...(process.geteuid?.() === 0 ? { PORTCULLIS_RUN_AS_USER: 'nobody' } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.on('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    const lines = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    return { code, lines };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

describe('a crashing server process', () => {
  for (const mode of ['exception', 'rejection'] as const) {
    it(`logs an uncaught ${mode}, stops gracefully and exits non-zero`, async () => {
      const { code, lines } = await runUntilExit(mode);
      assert.equal(code, 1);
      const fatal = lines.find((line) => line.level === 'fatal');
      assert.ok(fatal, 'a fatal log line');
      assert.match(String(fatal.msg), mode === 'exception' ? /uncaught exception/ : /unhandled promise rejection/);
      assert.match(JSON.stringify(fatal.err), /planted/);
      assert.ok(lines.some((line) => line.msg === 'stopped'), 'the server closed before exiting');
    });
  }
});
