// test/transport/tls.test.ts
// Practice 9: the TLS listener. Threats: downgrade to TLS 1.0/1.1 or to CBC suites (BEAST,
// Lucky13, POODLE-style padding oracles), client-initiated renegotiation (DoS, CVE-2009-3555),
// and a certificate change that drops live connections or needs a restart.
// Every refusal is checked against a permissive control server too, so each test proves the
// client really offered what the hardened server refused.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chown, copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { tls12Ciphers } from '../../src/security/https.js';
import { ensureSelfSignedCertificate } from '../../src/server/certificates.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

type Handshake = { ok: true; protocol: string | null; cipher: string; fingerprint: string; socket: tls.TLSSocket } | { ok: false; code: string };

function handshake(port: number, options: tls.ConnectionOptions = {}): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, ...options }, () => {
      const fingerprint = new X509Certificate(socket.getPeerCertificate().raw).fingerprint256;
      resolve({ ok: true, protocol: socket.getProtocol(), cipher: socket.getCipher().name, fingerprint, socket });
    });
    socket.on('error', (error: Error & { code?: string }) => {
      resolve({ ok: false, code: error.code ?? error.message });
    });
    socket.setTimeout(5_000, () => socket.destroy(new Error('handshake timed out')));
  });
}

function done(result: Handshake): Handshake {
  if (result.ok) result.socket.destroy();
  return result;
}

const oldProtocols = { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } as const satisfies tls.ConnectionOptions;
const cbcOnly = {
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.2',
  ciphers: 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES128-SHA:AES128-SHA256:AES128-SHA',
} as const satisfies tls.ConnectionOptions;

describe('the TLS listener', () => {
  let server: TestServer;
  /** Same certificate, OpenSSL's loosest settings: what the client can do when nothing stops it. */
  let control: tls.Server;
  let controlPort: number;

  before(async () => {
    server = await startTestServer();
    const key = await readFile(path.join(server.dataDir, 'tls', 'key.pem'), 'utf8');
    control = tls.createServer({ cert: server.ca, key, minVersion: 'TLSv1', ciphers: 'ALL@SECLEVEL=0' }, (socket) => {
      socket.on('error', () => undefined);
      socket.on('data', (data: Buffer) => {
        socket.write(data);
      });
    });
    await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
    controlPort = (control.address() as AddressInfo).port;
  });
  after(async () => {
    control.close();
    await server.close();
  });

  it('refuses TLS 1.0 and TLS 1.1 handshakes with a protocol_version alert', async () => {
    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      const offer = { ...oldProtocols, minVersion: version, maxVersion: version };
      const loose = done(await handshake(controlPort, offer));
      assert.ok(loose.ok && loose.protocol === version, `the client can speak ${version} (control: ${JSON.stringify(loose.ok ? loose.protocol : loose.code)})`);
      const refused = done(await handshake(server.port, offer));
      if (refused.ok) assert.fail(`${version} was accepted`);
      // Alert 70 came from the server: the client offered the old version and the server said no.
      assert.equal(refused.code, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    }
    const logged = server.logs().filter((line) => line.msg === 'TLS handshake failed').map((line) => line.tlsError);
    assert.ok(logged.includes('ERR_SSL_UNSUPPORTED_PROTOCOL'), `the server logs the refusal (${JSON.stringify(logged)})`);
  });

  it('negotiates TLS 1.3 with an AEAD suite by default', async () => {
    const result = done(await handshake(server.port, { ca: server.ca, rejectUnauthorized: true }));
    assert.ok(result.ok);
    assert.equal(result.protocol, 'TLSv1.3');
    assert.match(result.cipher, /^TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)$/);
  });

  it('refuses a TLS 1.2 client that offers only CBC suites', async () => {
    const loose = done(await handshake(controlPort, cbcOnly));
    assert.ok(loose.ok && /SHA(256|384)?$/.test(loose.cipher) && !/GCM|CHACHA/.test(loose.cipher), 'the client can negotiate a CBC suite (control)');
    const refused = done(await handshake(server.port, cbcOnly));
    if (refused.ok) assert.fail(`a CBC suite was accepted: ${refused.cipher}`);
    // OpenSSL 3.0 (Node 20) says SSLV3_ALERT_HANDSHAKE_FAILURE; 3.5 (Node 24) says SSL/TLS_ALERT_HANDSHAKE_FAILURE.
    assert.match(refused.code, /^ERR_SSL_(SSLV3|SSL\/TLS)_ALERT_HANDSHAKE_FAILURE$/);
  });

  it('accepts a TLS 1.2 client with forward-secret AEAD suites, and only those', async () => {
    const result = done(await handshake(server.port, { maxVersion: 'TLSv1.2', ca: server.ca, rejectUnauthorized: true }));
    assert.ok(result.ok);
    assert.equal(result.protocol, 'TLSv1.2');
    assert.match(result.cipher, /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);

    // Every TLS 1.2 suite this OpenSSL knows, offered one at a time.
    const candidates = tls.getCiphers().filter((name) => !name.startsWith('tls_')).map((name) => name.toUpperCase());
    const accepted: string[] = [];
    for (const cipher of candidates) {
      const offer = done(await handshake(server.port, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: `${cipher}@SECLEVEL=0` }));
      if (offer.ok) accepted.push(offer.cipher);
    }
    assert.ok(candidates.length > 30, `OpenSSL offers many suites to try (${candidates.length})`);
    assert.ok(accepted.length > 0);
    for (const cipher of accepted) assert.ok((tls12Ciphers as readonly string[]).includes(cipher), `${cipher} is not on the allow-list`);
  });

  it('refuses client-initiated renegotiation', async () => {
    const attempt = async (port: number): Promise<string> => {
      const connection = await handshake(port, { maxVersion: 'TLSv1.2' });
      assert.ok(connection.ok);
      const outcome = await new Promise<string>((resolve) => {
        connection.socket.once('error', (error: Error & { code?: string }) => {
          resolve(error.code ?? error.message);
        });
        const started = connection.socket.renegotiate({ rejectUnauthorized: false }, (error) => {
          resolve(error === null ? 'renegotiated' : ((error as Error & { code?: string }).code ?? error.message));
        });
        if (!started) resolve('not started');
      });
      connection.socket.destroy();
      return outcome;
    };
    assert.equal(await attempt(controlPort), 'renegotiated', 'the client can renegotiate (control)');
    assert.equal(await attempt(server.port), 'ERR_SSL_NO_RENEGOTIATION');
  });

  it(
    'closes its side of a connection whose renegotiation it refused',
    async () => {
      const connections = () =>
        new Promise<number>((resolve, reject) => {
          server.server.mainServer.getConnections((error, count) => {
            if (error) reject(error);
            else resolve(count);
          });
        });
      const before = await connections();
      const connection = await handshake(server.port, { maxVersion: 'TLSv1.2' });
      assert.ok(connection.ok);
      await new Promise<void>((resolve) => {
        connection.socket.once('error', () => {
          resolve();
        });
        connection.socket.renegotiate({ rejectUnauthorized: false }, () => {
          resolve();
        });
      });
      connection.socket.destroy();
      let count = Number.POSITIVE_INFINITY;
      for (let tries = 0; tries < 20 && count > before; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        count = await connections();
      }
      assert.ok(count <= before, `the refused connection is still open on the server (${count} open, ${before} before)`);
    },
  );
});

describe('certificate reload', () => {
  it('serves a replaced certificate to new connections while a keep-alive connection opened before keeps working', async () => {
    const server = await startTestServer();
    const folder = await mkdtemp(path.join(tmpdir(), 'portcullis-newcert-'));
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: server.ca });
    try {
      const oldFingerprint = new X509Certificate(server.ca).fingerprint256;
      const get = () =>
        new Promise<{ status: number; reused: boolean; socket: tls.TLSSocket }>((resolve, reject) => {
          const req = https.get({ host: '127.0.0.1', port: server.port, path: '/healthz', servername: 'localhost', agent }, (res) => {
            // Taken now: the agent detaches the socket from the response once it ends.
            const socket = res.socket;
            if (!(socket instanceof tls.TLSSocket)) {
              reject(new Error('the response did not come over TLS'));
              return;
            }
            res.resume();
            res.on('end', () => {
              resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, socket });
            });
          });
          req.on('error', reject);
        });
      const first = await get();
      assert.equal(first.status, 200);
      let closedEarly = false;
      first.socket.once('close', () => (closedEarly = true));

      await ensureSelfSignedCertificate(path.join(folder, 'cert.pem'), path.join(folder, 'key.pem'));
      const newCert = await readFile(path.join(folder, 'cert.pem'), 'utf8');
      const newFingerprint = new X509Certificate(newCert).fingerprint256;
      assert.notEqual(newFingerprint, oldFingerprint);
      await copyFile(path.join(folder, 'key.pem'), path.join(server.dataDir, 'tls', 'key.pem'));
      await copyFile(path.join(folder, 'cert.pem'), path.join(server.dataDir, 'tls', 'cert.pem'));

      // Not yet reloaded: new connections still see the old certificate.
      const beforeReload = done(await handshake(server.port));
      assert.ok(beforeReload.ok && beforeReload.fingerprint === oldFingerprint);

      await server.server.reloadCertificates();

      const fresh = done(await handshake(server.port, { ca: newCert, rejectUnauthorized: true }));
      assert.ok(fresh.ok, 'a new connection verifies against the new certificate');
      assert.equal(fresh.fingerprint, newFingerprint);

      const second = await get();
      assert.equal(second.status, 200);
      assert.equal(second.reused, true, 'the second request went over the connection opened before the reload');
      assert.equal(second.socket, first.socket);
      assert.equal(new X509Certificate(second.socket.getPeerCertificate().raw).fingerprint256, oldFingerprint);
      assert.equal(closedEarly, false, 'the open connection was not dropped');
    } finally {
      agent.destroy();
      await server.close();
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('reloads the certificate of a running `portcullis serve` on SIGHUP', async () => {
    // DATA_DIR directly under /tmp: when run as root, serve hands it to "nobody", who must reach it.
    const dataDir = await mkdtemp('/tmp/portcullis-sighup-');
    const folder = await mkdtemp(path.join(tmpdir(), 'portcullis-newcert-'));
    const main = path.resolve(import.meta.dirname, '..', '..', 'src', 'main.js');
    const child = spawn(process.execPath, [main, 'serve'], {
      cwd: dataDir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        NODE_ENV: 'development',
        PORTCULLIS_HTTPS_PORT: '0',
        PORTCULLIS_HTTP_PORT: 'off',
        PORTCULLIS_DATA_DIR: dataDir,
        PORTCULLIS_LOG_FORMAT: 'json',
        PORTCULLIS_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: Record<string, unknown>[] = [];
    let output = '';
    const waiters: { test: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }[] = [];
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const part of parts.filter((text) => text.trim() !== '')) {
        let line: Record<string, unknown>;
        try {
          line = JSON.parse(part) as Record<string, unknown>;
        } catch {
          continue;
        }
        lines.push(line);
        for (const waiter of waiters.filter((candidate) => candidate.test(line))) waiter.resolve(line);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const waitFor = (test: (line: Record<string, unknown>) => boolean, what: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const seen = lines.find(test);
        if (seen !== undefined) {
          resolve(seen);
          return;
        }
        const timer = setTimeout(() => {
          reject(new Error(`no "${what}" in the log within 15 s. Output:\n${output}`));
        }, 15_000);
        waiters.push({
          test,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const ready = await waitFor((line) => String(line.msg).startsWith('Portcullis is listening on'), 'Portcullis is listening');
      const port = Number(new URL(String(ready.listening)).port);
      const certFile = path.join(dataDir, 'tls', 'cert.pem');
      const keyFile = path.join(dataDir, 'tls', 'key.pem');
      const oldFingerprint = new X509Certificate(await readFile(certFile, 'utf8')).fingerprint256;
      const served = done(await handshake(port));
      assert.ok(served.ok && served.fingerprint === oldFingerprint);

      await ensureSelfSignedCertificate(path.join(folder, 'cert.pem'), path.join(folder, 'key.pem'));
      const newCert = await readFile(path.join(folder, 'cert.pem'), 'utf8');
      // Written as root (or the test's user), then given to whoever owns the files now.
      const owner = await stat(certFile);
      if (process.geteuid?.() === 0) {
        assert.ok(lines.some((line) => line.msg === 'dropped root privileges to nobody'), 'serve dropped root');
        assert.notEqual(owner.uid, 0, 'the data directory was handed to the unprivileged user');
      }
      await writeFile(keyFile, await readFile(path.join(folder, 'key.pem')), { mode: 0o600 });
      await writeFile(certFile, newCert);
      await chown(keyFile, owner.uid, owner.gid);
      await chown(certFile, owner.uid, owner.gid);

      child.kill('SIGHUP');
      await waitFor((line) => line.msg === 'certificate reloaded', 'certificate reloaded');
      const fresh = done(await handshake(port, { ca: newCert, rejectUnauthorized: true }));
      assert.ok(fresh.ok, 'a new connection verifies against the new certificate');
      assert.equal(fresh.fingerprint, new X509Certificate(newCert).fingerprint256);
      assert.equal(child.exitCode, null, 'the server is still running');
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(force);
      await rm(dataDir, { recursive: true, force: true });
      await rm(folder, { recursive: true, force: true });
    }
  });
});
