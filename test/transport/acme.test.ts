// test/transport/acme.test.ts
// Practice 9: certificates from an ACME CA. Threat: a site without a trusted certificate (users
// click through warnings) or with one that silently expires. Pebble, Let's Encrypt's test CA,
// issues real certificates here after really validating HTTP-01 against the redirect listener.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/observability/logger.js';
import { hardenedTlsOptions } from '../../src/security/https.js';
import { createAcmeClient } from '../../src/server/acme.js';
import { freePort, startPebble, type Pebble } from '../helpers/pebble.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

/** The certificate a TLS listener presents to a client that asks for "localhost". */
function presentedCertificate(port: number, ca: string): Promise<{ cert: X509Certificate; authorized: boolean; error: Error | null }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      resolve({ cert: new X509Certificate(raw), authorized: socket.authorized, error: socket.authorizationError });
      socket.end();
    });
    socket.on('error', reject);
    socket.setTimeout(5_000, () => socket.destroy(new Error('TLS handshake timed out')));
  });
}

async function assertPrivateFile(file: string): Promise<void> {
  const mode = (await stat(file)).mode & 0o777;
  assert.equal(mode, 0o600, `${path.basename(file)} must be mode 0600, is ${mode.toString(8)}`);
}

function messagesOf(server: TestServer): string[] {
  return server.logs().map((line) => String(line.msg));
}

describe('certificates over ACME (pebble)', () => {
  let pebble: Pebble;
  let httpPort: number;
  let httpsPort: number;
  let dataDir: string;

  before(async () => {
    httpPort = await freePort();
    httpsPort = await freePort();
    pebble = await startPebble({ httpPort });
    dataDir = await mkdtemp(path.join(tmpdir(), 'portcullis-acme-'));
  });
  after(async () => {
    await pebble.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const acmeEnv = () => ({
    PORTCULLIS_HTTP_PORT: String(httpPort),
    PORTCULLIS_HTTPS_PORT: String(httpsPort),
    PORTCULLIS_PUBLIC_URL: `https://localhost:${httpsPort}`,
    PORTCULLIS_DATA_DIR: dataDir,
    PORTCULLIS_ACME_DIRECTORY_URL: pebble.directoryUrl,
    PORTCULLIS_ACME_CA_FILE: pebble.caFile,
    PORTCULLIS_ACME_EMAIL: 'operator@example.com',
  });

  it('gets a certificate for the public hostname from the CA after real HTTP-01 validation, and serves it', async () => {
    const server = await startTestServer(acmeEnv());
    let issuedFingerprint: string;
    try {
      const [root, intermediatePem] = await Promise.all([pebble.issuingRoot(), pebble.issuingIntermediate()]);
      const intermediate = new X509Certificate(intermediatePem);
      const presented = await presentedCertificate(server.port, root);

      // Issued by pebble's intermediate, for localhost, and trusted through pebble's root.
      assert.equal(presented.cert.issuer, intermediate.subject);
      assert.ok(presented.cert.checkIssued(intermediate), 'the intermediate issued the served certificate');
      assert.ok(presented.cert.verify(intermediate.publicKey), "the served certificate carries the intermediate's signature");
      assert.equal(presented.cert.checkHost('localhost'), 'localhost');
      assert.equal(presented.error, null);
      assert.equal(presented.authorized, true);
      // Not a self-signed development certificate.
      assert.notEqual(presented.cert.issuer, presented.cert.subject);
      assert.doesNotMatch(presented.cert.issuer, /localhost/);
      await assert.rejects(stat(path.join(dataDir, 'tls', 'cert.pem')), { code: 'ENOENT' });

      // The served certificate is the one kept in DATA_DIR/tls, and the keys are private.
      const kept = new X509Certificate(await readFile(path.join(dataDir, 'tls', 'acme-cert.pem'), 'utf8'));
      assert.equal(presented.cert.fingerprint256, kept.fingerprint256);
      await assertPrivateFile(path.join(dataDir, 'tls', 'acme-key.pem'));
      await assertPrivateFile(path.join(dataDir, 'tls', 'acme-account-key.pem'));
      issuedFingerprint = kept.fingerprint256;

      // Pebble really fetched the challenge from the redirect listener (no ALWAYS_VALID shortcut).
      assert.ok(pebble.output().includes(`http://localhost:${httpPort}/.well-known/acme-challenge/`), pebble.output());
      const messages = messagesOf(server);
      assert.ok(messages.includes('HTTP-01 challenge validated'), messages.join('\n'));
      assert.ok(messages.includes('certificate issued over ACME'));
      // Keys never reach the log.
      assert.doesNotMatch(JSON.stringify(server.logs()), /PRIVATE KEY|BEGIN CERTIFICATE/);
    } finally {
      await server.close();
    }

    // The next start reuses the kept certificate instead of ordering again.
    const again = await startTestServer(acmeEnv());
    try {
      const presented = await presentedCertificate(again.port, await pebble.issuingRoot());
      assert.equal(presented.cert.fingerprint256, issuedFingerprint);
      const messages = messagesOf(again);
      assert.ok(messages.includes('using the kept ACME certificate'), messages.join('\n'));
      assert.ok(!messages.includes('ordering a certificate over ACME'));
    } finally {
      await again.close();
    }
  });

  it('renews in the background and swaps the new certificate into the running listener', async () => {
    // Its own folder and listeners, and a renewal margin that makes any certificate due at once.
    const folder = await mkdtemp(path.join(tmpdir(), 'portcullis-acme-renew-'));
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', pretty: false, destination: { write: (line: string) => lines.push(line) } });
    const acme = createAcmeClient(
      {
        mode: 'acme',
        certFile: path.join(folder, 'tls', 'acme-cert.pem'),
        keyFile: path.join(folder, 'tls', 'acme-key.pem'),
        directoryUrl: pebble.directoryUrl,
        email: undefined,
        caFile: pebble.caFile,
      },
      'localhost',
      logger,
      { renewBeforeExpiryMs: 100 * 365 * 86_400_000, checkIntervalMs: 60_000, retryDelayMs: 60_000 },
    );
    const challenges = http.createServer((req, res) => {
      const answer = acme.respondToChallenge(req.url?.split('/').pop() ?? '');
      res.writeHead(answer === undefined ? 404 : 200).end(answer);
    });
    await new Promise<void>((resolve) => challenges.listen(httpPort, '127.0.0.1', resolve));
    const first = await acme.ensureCertificate();
    const listener = https.createServer(hardenedTlsOptions(first), (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as AddressInfo).port;
    try {
      const root = await pebble.issuingRoot();
      const before = (await presentedCertificate(port, root)).cert.fingerprint256;
      assert.equal(before, new X509Certificate(first.cert).fingerprint256);
      let swapped = 0;
      acme.startRenewal((fresh) => {
        swapped += 1;
        listener.setSecureContext(hardenedTlsOptions(fresh));
      });
      const deadline = Date.now() + 20_000;
      let now = before;
      while (now === before && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        now = (await presentedCertificate(port, root)).cert.fingerprint256;
      }
      assert.notEqual(now, before, `a renewed certificate is served without a restart. Log:\n${lines.join('')}`);
      assert.equal(swapped, 1);
      const presented = await presentedCertificate(port, root);
      assert.equal(presented.authorized, true);
      assert.equal(presented.cert.fingerprint256, new X509Certificate(await readFile(path.join(folder, 'tls', 'acme-cert.pem'), 'utf8')).fingerprint256);
    } finally {
      acme.stop();
      listener.close();
      challenges.close();
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('refuses to start with a clear error when the ACME directory cannot be reached, and frees its ports', async () => {
    const closedPort = await freePort();
    const started = Date.now();
    await assert.rejects(startTestServer({ ...acmeEnv(), PORTCULLIS_DATA_DIR: path.join(dataDir, 'unreachable'), PORTCULLIS_ACME_DIRECTORY_URL: `https://127.0.0.1:${closedPort}/dir` }), (error: Error) => {
      assert.match(error.message, /^ACME_DIRECTORY_UNREACHABLE: the ACME directory https:\/\/127\.0\.0\.1:\d+\/dir could not be reached \(ECONNREFUSED\)/);
      return true;
    });
    assert.ok(Date.now() - started < 10_000, 'fails in seconds, not after minutes of retries');
    // The redirect listener that was started for the challenge is closed again.
    const probe = http.createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(httpPort, '127.0.0.1', resolve);
    });
    probe.close();
  });

  it('does not trust an ACME directory signed by an unknown CA, and names the setting that fixes it', async () => {
    const env: Record<string, string> = { ...acmeEnv(), PORTCULLIS_DATA_DIR: path.join(dataDir, 'untrusted') };
    delete env.PORTCULLIS_ACME_CA_FILE;
    await assert.rejects(startTestServer(env), (error: Error) => {
      assert.match(error.message, /^ACME_DIRECTORY_UNTRUSTED: .* is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\).*PORTCULLIS_ACME_CA_FILE/);
      return true;
    });
  });
});
