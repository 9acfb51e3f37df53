// test/helpers/pebble.ts
// Starts Debian's pebble (Let's Encrypt's ACME test CA) on loopback for a test, with its HTTP-01
// validation sent to the port the test names, and stops it. Real validation: no ALWAYS_VALID.

import { spawn, type ChildProcess } from 'node:child_process';
import type { ClientRequest } from 'node:http';
import { access, constants, mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import selfsigned from 'selfsigned';

/** A free loopback port for a process that must be told its port in advance (released before use: a rare race shows as EADDRINUSE). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

export const pebbleBinary = process.env.PEBBLE_BIN ?? '/usr/bin/pebble';

export interface Pebble {
  /** The ACME directory, for PORTCULLIS_ACME_DIRECTORY_URL. */
  readonly directoryUrl: string;
  /** The test CA that signed pebble's own HTTPS certificate, for PORTCULLIS_ACME_CA_FILE. */
  readonly caFile: string;
  readonly ca: string;
  /** The root and intermediate pebble issues certificates under (new on every start). */
  issuingRoot(): Promise<string>;
  issuingIntermediate(): Promise<string>;
  /** What pebble printed so far (its validation attempts are logged there). */
  output(): string;
  stop(): Promise<void>;
}

export interface StartPebbleOptions {
  /** The port pebble sends HTTP-01 validation requests to: the server's redirect listener. */
  readonly httpPort: number;
  /** How long to wait for pebble to listen. */
  readonly startTimeoutMs?: number;
}

/** A throwaway CA and a loopback certificate signed by it, like pebble's own test/certs (Debian does not ship them). */
async function makeListenerCertificate(folder: string): Promise<{ caFile: string; ca: string; certFile: string; keyFile: string }> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(Date.now() + 86_400_000);
  const authority = await selfsigned.generate([{ name: 'commonName', value: 'Portcullis test ACME listener CA' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const leaf = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ca: { key: authority.private, cert: authority.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
  const caFile = path.join(folder, 'listener-ca.pem');
  const certFile = path.join(folder, 'listener-cert.pem');
  const keyFile = path.join(folder, 'listener-key.pem');
  await writeFile(caFile, authority.cert);
  await writeFile(certFile, leaf.cert);
  await writeFile(keyFile, leaf.private, { mode: 0o600 });
  return { caFile, ca: authority.cert, certFile, keyFile };
}

function get(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, agent: false, timeout: 5_000 }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          if (response.statusCode === 200) resolve(Buffer.concat(chunks).toString('utf8'));
          else reject(new Error(`pebble answered ${String(response.statusCode)} for ${url}`));
        });
      })
      .on('error', reject)
      .on('timeout', function (this: ClientRequest) {
        this.destroy(new Error(`pebble did not answer ${url} in time`));
      });
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startPebble({ httpPort, startTimeoutMs = 10_000 }: StartPebbleOptions): Promise<Pebble> {
  try {
    await access(pebbleBinary, constants.X_OK);
  } catch {
    throw new Error(`pebble is not installed at ${pebbleBinary}: the ACME tests need Debian's pebble (apt-get install -y pebble), which CI installs`);
  }
  const folder = await mkdtemp(path.join(tmpdir(), 'portcullis-pebble-'));
  const listener = await makeListenerCertificate(folder);
  const [acmePort, managementPort, tlsPort] = [await freePort(), await freePort(), await freePort()];
  const configFile = path.join(folder, 'pebble-config.json');
  await writeFile(
    configFile,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: listener.certFile,
        privateKey: listener.keyFile,
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );

  // PEBBLE_VA_NOSLEEP: validate at once instead of after a random pause of up to 15 s.
  // The system resolver answers "localhost" from /etc/hosts, so HTTP-01 reaches loopback.
  const child = spawn(pebbleBinary, ['-config', configFile], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PEBBLE_VA_NOSLEEP: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));

  const cleanUp = async () => {
    await stopProcess(child);
    await rm(folder, { recursive: true, force: true });
  };

  try {
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => {
        reject(new Error(`pebble did not start listening within ${startTimeoutMs} ms. Its output:\n${output}`));
      }, startTimeoutMs);
      const onData = () => {
        if (output.includes('ACME directory available at')) {
          clearTimeout(deadline);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(deadline);
        reject(new Error(`pebble exited early (${String(code ?? signal)}). Its output:\n${output}`));
      });
      child.once('error', (error) => {
        clearTimeout(deadline);
        reject(error);
      });
    });
  } catch (error) {
    await cleanUp();
    throw error;
  }

  const management = `https://127.0.0.1:${managementPort}`;
  return {
    directoryUrl: `https://127.0.0.1:${acmePort}/dir`,
    caFile: listener.caFile,
    ca: listener.ca,
    issuingRoot: () => get(`${management}/roots/0`, listener.ca),
    issuingIntermediate: () => get(`${management}/intermediates/0`, listener.ca),
    output: () => output,
    stop: cleanUp,
  };
}
