// test/deploy/compose.test.ts
// compose.yaml cannot run here (no Docker engine), so it is checked statically against what does
// run: its app settings load as a production configuration (the server would start with them),
// every setting it names exists, the proxy it trusts is nginx's network, nginx's upstream names
// the app services on their port, and no secret is written into it. nginx itself runs in
// test/deploy/nginx.test.ts.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { settingNames } from '../../src/config/settings.js';
import { repoRoot } from '../helpers/cli.js';

/** The `environment:` block of the x-app anchor, as key/value pairs with compose's ${...} filled in. */
function appEnvironment(compose: string): Record<string, string> {
  const start = compose.indexOf('x-app: &app');
  const block = compose.slice(compose.indexOf('  environment:\n', start), compose.indexOf('\n  secrets:', start));
  const entries = [...block.matchAll(/^ {4}([A-Z_]+): (.*)$/gm)].map((match) => {
    let value = (match[2] ?? '').trim();
    if (/^".*"$/.test(value)) value = value.slice(1, -1);
    // ${NAME:?message} must come from .env: a stand-in here. ${NAME:-default}: the default.
    value = value.replace(/\$\{([A-Z_]+):\?[^}]*\}/g, (_, name: string) => `stand-in-${name.toLowerCase()}`).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, (_, fallback: string) => fallback);
    return [match[1] ?? '', value] as const;
  });
  return Object.fromEntries(entries);
}

/** ENV lines of the Dockerfile's runtime stage (the image's defaults under compose's settings). */
function imageEnvironment(dockerfile: string): Record<string, string> {
  const lines = dockerfile.slice(dockerfile.indexOf('AS runtime')).split('\n');
  const first = lines.findIndex((line) => line.startsWith('ENV '));
  const env: string[] = [];
  // The ENV instruction and its continuation lines (each ending in a backslash but the last).
  for (const line of first < 0 ? [] : lines.slice(first)) {
    env.push(line);
    if (!line.trimEnd().endsWith('\\')) break;
  }
  return Object.fromEntries([...env.join(' ').matchAll(/([A-Z_]+)=([^\s\\]+)/g)].map((match) => [match[1] ?? '', match[2] ?? '']));
}

describe('compose.yaml', () => {
  let compose: string;
  let nginx: string;
  let dockerfile: string;
  let dir: string;
  before(async () => {
    [compose = '', nginx = '', dockerfile = ''] = await Promise.all(['compose.yaml', 'deploy/nginx/portcullis.conf', 'Dockerfile'].map((file) => readFile(path.join(repoRoot, file), 'utf8')));
    dir = await mkdtemp(path.join(tmpdir(), 'portcullis-compose-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names only settings Portcullis knows', () => {
    const unknown = Object.keys(appEnvironment(compose)).filter((name) => name !== 'NODE_ENV' && !(settingNames as readonly string[]).includes(name));
    assert.deepEqual(unknown, []);
  });

  it('gives the instances a configuration that starts in production, behind the proxy, on PostgreSQL and Redis', async () => {
    const secretFile = path.join(dir, 'portcullis_secret');
    await writeFile(secretFile, 'a-stand-in-master-key-of-forty-eight-characters!!\n', { mode: 0o600 });
    const env = {
      ...imageEnvironment(dockerfile),
      ...appEnvironment(compose),
      PORTCULLIS_DATA_DIR: path.join(dir, 'data'),
      PORTCULLIS_SECRET_FILE: secretFile,
    };
    // uid 10001: the image's user, so no privilege drop is asked for.
    const { config } = await loadConfig({ env, cwd: dir, euid: 10001 });
    assert.equal(config.isProduction, true);
    assert.equal(config.tls.mode, 'proxy', 'TLS ends at nginx');
    assert.equal(config.database.kind, 'postgres');
    assert.ok(config.redis, 'Redis holds sessions and counters');
    assert.deepEqual(config.trustProxy, ['172.28.0.0/24']);
    assert.equal(config.httpsPort, 8443);
    assert.equal(config.httpPort, null);
    assert.equal(config.rateLimit.generalMax, 300);
    assert.equal(config.bruteForce.maxConsecutiveFailures, 100);
  });

  it('trusts exactly nginx\'s network, which holds nginx\'s address', () => {
    const trusted = appEnvironment(compose).PORTCULLIS_TRUST_PROXY;
    const subnet = /front:\n {4}ipam:\n {6}config:\n {8}- subnet: (\S+)/.exec(compose)?.[1];
    assert.equal(trusted, subnet);
    const nginxAddress = /nginx:[\s\S]*?front:\n {8}ipv4_address: (\S+)/.exec(compose)?.[1] ?? '';
    assert.ok(nginxAddress.startsWith('172.28.0.'), `nginx at ${nginxAddress}`);
    assert.match(compose, /back:\n {4}internal: true/, 'PostgreSQL and Redis are on an internal network');
  });

  it('matches nginx\'s upstream, body limit and host to the app services', () => {
    const upstream = [...nginx.matchAll(/^\s*server ([^\s;]+)[^;\n]*;/gm)].map((match) => match[1]);
    assert.deepEqual(upstream, ['app1:8443', 'app2:8443']);
    assert.match(compose, /^ {2}app1:\n {4}<<: \*app/m);
    assert.match(compose, /^ {2}app2:\n {4}<<: \*app/m);
    const env = appEnvironment(compose);
    assert.equal(env.PORTCULLIS_HTTPS_PORT, '8443');
    assert.equal(/client_max_body_size (\d+)k;/.exec(nginx)?.[1], /^(\d+)kb$/.exec(env.PORTCULLIS_BODY_LIMIT ?? '')?.[1]);
    assert.equal(/server_name (\S+);/.exec(nginx)?.[1], new URL(env.PORTCULLIS_PUBLIC_URL ?? '').hostname);
    assert.match(compose, /- \.\/deploy\/nginx\/portcullis\.conf:\/etc\/nginx\/conf\.d\/default\.conf:ro/);
    assert.match(compose, /- "443:443"/);
  });

  it('holds no secret: the master key comes from a secret file, passwords from .env', () => {
    const env = appEnvironment(compose);
    assert.equal(env.PORTCULLIS_SECRET, undefined);
    assert.equal(env.PORTCULLIS_SECRET_FILE, '/run/secrets/portcullis_secret');
    for (const line of compose.split('\n')) {
      if (/PASSWORD|requirepass/i.test(line) && /[:=]\s*\S/.test(line) && !line.trim().startsWith('#')) {
        assert.doesNotMatch(line.replace(/\$\{[^}]+\}|\$\$[A-Z_]+|"\$\$[A-Z_]+"/g, ''), /(PASSWORD|requirepass)["']?\s*[:=]?\s*[A-Za-z0-9+/]{12,}/, line);
      }
    }
  });
});
