// src/server/certificates.ts
// Where the listener's certificate comes from: operator files, or in development a self-signed
// certificate for localhost, 127.0.0.1 and ::1 made once and reused. ACME (acme.ts) keeps its
// files with the helpers here too.

import { X509Certificate, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import selfsigned from 'selfsigned';

export interface Credentials {
  readonly cert: string;
  readonly key: string;
}

export async function readCredentials(certFile: string, keyFile: string): Promise<Credentials> {
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  // Parse now, so a broken file fails at start (or at reload) with a clear error, not at handshake.
  new X509Certificate(cert);
  return { cert, key };
}

/** A file's text, or undefined when it does not exist (any other error is thrown). */
export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Writes a file whole or not at all (temporary file, then rename), with its mode set before the
 * contents can be read: a reader never sees half a key, and a key is never briefly world-readable.
 */
export async function writeFileAtomically(file: string, contents: string, mode: number): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, contents, { mode, flag: 'wx' });
    // The umask may have narrowed the mode; set it exactly.
    await chmod(temporary, mode);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await readFile(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Days a development certificate lasts; it is replaced when it gets within a week of expiry. */
const developmentCertificateDays = 365;

function expiresWithinAWeek(cert: string): boolean {
  const validTo = Date.parse(new X509Certificate(cert).validTo);
  return validTo - Date.now() < 7 * 86_400_000;
}

export async function ensureSelfSignedCertificate(certFile: string, keyFile: string): Promise<{ created: boolean }> {
  if ((await exists(certFile)) && (await exists(keyFile)) && !expiresWithinAWeek(await readFile(certFile, 'utf8'))) {
    return { created: false };
  }
  await mkdir(path.dirname(certFile), { recursive: true, mode: 0o700 });
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + developmentCertificateDays * 86_400_000);
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: false },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  await writeFile(keyFile, pems.private, { mode: 0o600 });
  await chmod(keyFile, 0o600);
  await writeFile(certFile, pems.cert, { mode: 0o644 });
  return { created: true };
}
