// test/cli/usage.test.ts
// The command line itself: help that describes each command and exits 0, and mistakes that exit 2
// (usage) with a message saying what was wrong, before any setting is read or any file written.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli, stackFramePattern } from '../helpers/cli.js';

// Each test starts its own processes and shares nothing, so they run side by side.
describe('portcullis command line', { concurrency: true }, () => {
  it('prints the list of commands for --help, -h and help, and exits 0', async () => {
    const results = await Promise.all(['--help', '-h', 'help'].map(async (flag) => ({ flag, result: await runCli([flag]) })));
    for (const { flag, result } of results) {
      assert.equal(result.code, 0, `${flag}: ${result.stderr}`);
      assert.match(result.stdout, /^Usage: portcullis <command> \[options\]/, flag);
      assert.match(result.stdout, /^\s+serve\s+start the server/m, flag);
      assert.match(result.stdout, /^\s+migrate\s+apply pending database migrations/m, flag);
      assert.equal(result.stderr, '', flag);
    }
  });

  it('describes serve for "serve --help" and exits 0 without starting anything', async () => {
    const result = await runCli(['serve', '--help']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Usage: portcullis serve/);
    assert.match(result.stdout, /HTTPS server/);
    assert.match(result.stdout, /SIGTERM and SIGINT stop gracefully/);
    assert.doesNotMatch(result.stdout, /listening/i);
  });

  it('describes migrate for "migrate --help" and exits 0 without migrating', async () => {
    const result = await runCli(['migrate', '--help']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Usage: portcullis migrate/);
    assert.match(result.stdout, /pending database migration/);
    assert.doesNotMatch(result.stdout, /Applied|up to date/);
  });

  it('exits 2 with the usage on stderr when no command is given', async () => {
    const result = await runCli([]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /no command given/);
    assert.match(result.stderr, /Usage: portcullis <command>/);
    assert.equal(result.stdout, '');
    assert.doesNotMatch(result.stderr, stackFramePattern);
  });

  it('exits 2 naming the command when the command is unknown', async () => {
    const result = await runCli(['serf']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^portcullis: unknown command "serf"$/m);
    assert.match(result.stderr, /Usage: portcullis <command>/);
    assert.equal(result.stdout, '');
  });

  it('exits 2 naming the option when an option is unknown, for every command', async () => {
    const results = await Promise.all(['serve', 'migrate'].map(async (command) => ({ command, result: await runCli([command, '--port=443']) })));
    for (const { command, result } of results) {
      assert.equal(result.code, 2, command);
      assert.ok(result.stderr.startsWith(`portcullis ${command}: Unknown option '--port'`), result.stderr);
      assert.ok(result.stderr.includes(`Usage: portcullis ${command}`), command);
      assert.equal(result.stdout, '', command);
      assert.doesNotMatch(result.stderr, stackFramePattern);
    }
  });

  it('exits 2 when a command that takes no arguments is given one', async () => {
    const result = await runCli(['migrate', 'now']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^portcullis migrate: .*'now'/m);
    assert.doesNotMatch(result.stderr, stackFramePattern);
  });
});
