// test/config/load-config.test.ts
// Secure defaults, loud misconfiguration: development needs nothing; production refuses every
// dangerous setting with a line that names the setting and the fix.

import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/config-error.js';

const strongSecret = 'k'.repeat(48);

async function refusal(env: Record<string, string>, cwd: string, euid = 1000): Promise<string> {
  try {
    await loadConfig({ env, cwd, euid });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('the configuration was accepted');
}

describe('loadConfig', () => {
  let workDir: string;
  before(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'portcullis-config-'));
  });
  after(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it('starts in development with nothing set, creating a private data directory and master key', async () => {
    const { config } = await loadConfig({ env: {}, cwd: workDir, euid: 1000 });
    assert.equal(config.env, 'development');
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.httpsPort, 8443);
    assert.equal(config.httpPort, 8080);
    assert.equal(config.publicOrigin, 'https://localhost:8443');
    assert.equal(config.dataDir, path.join(workDir, 'data'));
    assert.deepEqual(config.database, { kind: 'sqlite', filename: path.join(workDir, 'data', 'portcullis.db') });
    assert.equal(config.tls.mode, 'self-signed');
    assert.equal((await stat(config.dataDir)).mode & 0o777, 0o700);
    const keyFile = path.join(config.dataDir, 'secret.key');
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    assert.ok(config.masterKey.length >= 32);
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.session));
  });

  it('reuses the development master key on the next start', async () => {
    const first = await loadConfig({ env: {}, cwd: workDir, euid: 1000 });
    const second = await loadConfig({ env: {}, cwd: workDir, euid: 1000 });
    assert.ok(first.config.masterKey.equals(second.config.masterKey));
    assert.equal((await readFile(path.join(workDir, 'data', 'secret.key'), 'utf8')).trim(), second.config.masterKey.toString('utf8'));
  });

  it('names a __Host- session cookie and keeps session limits within NIST AAL2', async () => {
    const { config } = await loadConfig({ env: {}, cwd: workDir, euid: 1000 });
    assert.equal(config.session.cookieName, '__Host-id');
    assert.equal(config.session.idleTimeoutMs, 30 * 60_000);
    assert.equal(config.session.absoluteTimeoutMs, 12 * 3_600_000);
    const message = await refusal({ PORTCULLIS_SESSION_IDLE_MINUTES: '90' }, workDir);
    assert.match(message, /^PORTCULLIS_SESSION_IDLE_MINUTES: .*Fix: .*60/m);
  });

  it('refuses a session cookie name that gives the stack away', async () => {
    const message = await refusal({ PORTCULLIS_SESSION_COOKIE_NAME: 'PHPSESSID' }, workDir);
    assert.match(message, /PORTCULLIS_SESSION_COOKIE_NAME: .*PHP.*Fix:/);
  });

  it('refuses PORTCULLIS_TRUST_PROXY=true in every environment, and garbage lists', async () => {
    assert.match(await refusal({ PORTCULLIS_TRUST_PROXY: 'true' }, workDir), /PORTCULLIS_TRUST_PROXY: .*any client choose its own address.*Fix: set the number of proxies/);
    assert.match(await refusal({ PORTCULLIS_TRUST_PROXY: '10.0.0.0/99' }, workDir), /PORTCULLIS_TRUST_PROXY/);
    assert.match(await refusal({ PORTCULLIS_TRUST_PROXY: 'evil.example' }, workDir), /PORTCULLIS_TRUST_PROXY/);
  });

  it('accepts hop counts and CIDR lists for PORTCULLIS_TRUST_PROXY', async () => {
    assert.equal((await loadConfig({ env: { PORTCULLIS_TRUST_PROXY: '2' }, cwd: workDir, euid: 1000 })).config.trustProxy, 2);
    assert.deepEqual((await loadConfig({ env: { PORTCULLIS_TRUST_PROXY: '10.0.0.0/8, ::1,loopback' }, cwd: workDir, euid: 1000 })).config.trustProxy, [
      '10.0.0.0/8',
      '::1',
      'loopback',
    ]);
  });

  it('names the hot PostgreSQL statements by default, and turns that off for PgBouncer in transaction mode', async () => {
    const url = 'postgres://portcullis@db.internal:5432/portcullis';
    const { config: named } = await loadConfig({ env: { PORTCULLIS_DATABASE_URL: url }, cwd: workDir, euid: 1000 });
    assert.equal(named.database.kind === 'postgres' && named.database.preparedStatements, true);
    const { config: unnamed } = await loadConfig({ env: { PORTCULLIS_DATABASE_URL: url, PORTCULLIS_DATABASE_PREPARED_STATEMENTS: 'off' }, cwd: workDir, euid: 1000 });
    assert.equal(unnamed.database.kind === 'postgres' && unnamed.database.preparedStatements, false);
    const message = await refusal({ PORTCULLIS_DATABASE_URL: url, PORTCULLIS_DATABASE_PREPARED_STATEMENTS: 'sometimes' }, workDir);
    assert.match(message, /PORTCULLIS_DATABASE_PREPARED_STATEMENTS.*PgBouncer/);
  });

  it('refuses a public URL with a path, query or credentials', async () => {
    assert.match(await refusal({ PORTCULLIS_PUBLIC_URL: 'https://example.com/app' }, workDir), /PORTCULLIS_PUBLIC_URL: .*origin only/);
    assert.match(await refusal({ PORTCULLIS_PUBLIC_URL: 'https://user:pw@example.com' }, workDir), /PORTCULLIS_PUBLIC_URL/);
    assert.match(await refusal({ PORTCULLIS_PUBLIC_URL: 'ftp://example.com' }, workDir), /PORTCULLIS_PUBLIC_URL/);
  });

  it('refuses ACME certificates with the plain-HTTP listener off, since HTTP-01 needs it', async () => {
    const message = await refusal({ PORTCULLIS_ACME_DIRECTORY_URL: 'https://acme.example.test/dir', PORTCULLIS_HTTP_PORT: 'off' }, workDir);
    assert.match(message, /^PORTCULLIS_HTTP_PORT: ACME certificates are validated over plain HTTP.*Fix:/m);
  });

  it('reports every problem at once, one line each', async () => {
    const message = await refusal({ PORTCULLIS_HTTPS_PORT: 'abc', PORTCULLIS_BODY_LIMIT: '5gb', PORTCULLIS_LOG_LEVEL: 'loud' }, workDir);
    const lines = message.split('\n');
    assert.equal(lines.length, 3);
    for (const line of lines) assert.match(line, /^PORTCULLIS_[A-Z_]+: .+\. Fix: .+\.$/);
  });

  describe('in production', () => {
    const production = (extra: Record<string, string> = {}) => ({
      NODE_ENV: 'production',
      PORTCULLIS_SECRET: strongSecret,
      PORTCULLIS_TRUST_PROXY: '127.0.0.1',
      PORTCULLIS_PUBLIC_URL: 'https://accounts.example.com',
      ...extra,
    });

    it('starts with a strong key and a trusted TLS-terminating proxy', async () => {
      const { config } = await loadConfig({ env: production(), cwd: workDir, euid: 1000 });
      assert.equal(config.isProduction, true);
      assert.equal(config.tls.mode, 'proxy');
    });

    it('refuses a missing master key', async () => {
      const env: Record<string, string> = production();
      delete env.PORTCULLIS_SECRET;
      assert.match(await refusal(env, workDir), /^PORTCULLIS_SECRET: no master key is set\. Fix: .*openssl rand/m);
    });

    it('refuses a master key shorter than 32 bytes', async () => {
      assert.match(await refusal(production({ PORTCULLIS_SECRET: 'short-secret' }), workDir), /PORTCULLIS_SECRET: the master key is 12 bytes/);
    });

    it('refuses to run without a certificate and without a trusted proxy', async () => {
      const env: Record<string, string> = production();
      delete env.PORTCULLIS_TRUST_PROXY;
      assert.match(await refusal(env, workDir), /PORTCULLIS_TLS_CERT: production needs a certificate.*Fix: set PORTCULLIS_TLS_CERT/);
    });

    it('refuses a plain-http public URL', async () => {
      assert.match(await refusal(production({ PORTCULLIS_PUBLIC_URL: 'http://accounts.example.com' }), workDir), /PORTCULLIS_PUBLIC_URL: the public URL is not https/);
    });

    it('refuses a data directory other users can read', async () => {
      const open = path.join(workDir, 'open-data');
      await loadConfig({ env: { PORTCULLIS_DATA_DIR: open }, cwd: workDir, euid: 1000 });
      await chmod(open, 0o755);
      assert.match(await refusal(production({ PORTCULLIS_DATA_DIR: open }), workDir), /PORTCULLIS_DATA_DIR: .*mode 755.*Fix: run chmod 700/);
    });

    it('refuses to start as root without a user to drop to', async () => {
      assert.match(await refusal(production(), workDir, 0), /PORTCULLIS_RUN_AS_USER: started as root/);
      const { config } = await loadConfig({ env: production({ PORTCULLIS_RUN_AS_USER: 'portcullis' }), cwd: workDir, euid: 0 });
      assert.equal(config.runAsUser, 'portcullis');
    });

    it('only warns about the same weak settings in development', async () => {
      const { warnings } = await loadConfig({ env: { PORTCULLIS_SECRET: 'short', PORTCULLIS_PUBLIC_URL: 'http://localhost:8443' }, cwd: workDir, euid: 1000 });
      assert.equal(warnings.length, 2);
      assert.ok(warnings.every((warning) => warning.includes('refused in production')));
    });
  });
});
