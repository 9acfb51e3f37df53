// src/server/acme.ts
// Practice 9 (HTTPS only): certificates from an ACME CA (Let's Encrypt) over HTTP-01, kept in
// DATA_DIR/tls, reused until they near expiry, renewed in the background and swapped in live.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { isIP } from 'node:net';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import { Client, axios as acmeAxios, crypto as acmeCrypto, type Authorization } from 'acme-client';
import type { Logger } from '../observability/logger.js';
import { readIfExists, writeFileAtomically, type Credentials } from './certificates.js';

export type AcmeTlsConfig = {
  readonly mode: 'acme';
  readonly certFile: string;
  readonly keyFile: string;
  readonly directoryUrl: string;
  readonly email: string | undefined;
  readonly caFile: string | undefined;
};

/** Answers HTTP-01 challenges on the plain-HTTP listener: token in, key authorisation out. */
export type ChallengeResponder = (token: string) => string | undefined;

export interface AcmeClient {
  readonly respondToChallenge: ChallengeResponder;
  /**
   * Returns the kept certificate while it is not due for renewal; otherwise orders a new one. When
   * that order fails but the kept certificate is still valid, the kept one is returned (and the
   * failure logged) so that a CA outage never takes a working site down.
   */
  ensureCertificate(): Promise<Credentials>;
  /**
   * Starts the background renewal timer (unref'd: it never keeps the process alive). Each renewed
   * certificate is handed to onRenewed, which swaps it into the listener.
   */
  startRenewal(onRenewed: (credentials: Credentials) => void): void;
  /** Stops the renewal timer. */
  stop(): void;
}

export interface AcmeClientOptions {
  /**
   * Renew when less than this is left before expiry. Default: 30 days, or a third of the
   * certificate's lifetime when that is shorter (so short-lived certificates are not re-ordered
   * on every check).
   */
  readonly renewBeforeExpiryMs?: number;
  /** The longest the renewal timer sleeps between two looks at the certificate. Default: 12 hours. */
  readonly checkIntervalMs?: number;
  /** The wait before a failed renewal is tried again. Default: 1 hour. */
  readonly retryDelayMs?: number;
  /** The bound on reading the directory before an order. Default: 15 seconds. */
  readonly directoryTimeoutMs?: number;
}

/** Stable codes for what can go wrong, so operators and monitoring can match on them. */
export type AcmeErrorCode =
  | 'ACME_CA_FILE_UNREADABLE'
  | 'ACME_DIRECTORY_UNREACHABLE'
  | 'ACME_DIRECTORY_UNTRUSTED'
  | 'ACME_DIRECTORY_INVALID'
  | 'ACME_NO_HTTP01_CHALLENGE'
  | 'ACME_ORDER_FAILED';

export class AcmeError extends Error {
  override name = 'AcmeError';
  readonly code: AcmeErrorCode;
  constructor(code: AcmeErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
  }
}

const day = 86_400_000;
const defaults = {
  renewBeforeExpiryMs: 30 * day,
  checkIntervalMs: 12 * 3_600_000,
  retryDelayMs: 3_600_000,
  directoryTimeoutMs: 15_000,
};

/**
 * acme-client sends every request through one shared axios instance. To trust an extra CA for one
 * ACME directory (pebble's test CA) without weakening verification anywhere else, an agent is
 * chosen per origin: only requests to that directory's origin get the extra CA, and the system
 * roots stay trusted beside it. Verification is never switched off.
 */
const agentsByOrigin = new Map<string, https.Agent>();
let agentInterceptorInstalled = false;

function trustExtraCaFor(directoryUrl: string, agent: https.Agent): void {
  agentsByOrigin.set(new URL(directoryUrl).origin, agent);
  if (agentInterceptorInstalled) return;
  agentInterceptorInstalled = true;
  acmeAxios.interceptors.request.use((config) => {
    if (config.url !== undefined) {
      const origin = URL.canParse(config.url) ? new URL(config.url).origin : undefined;
      const agent = origin === undefined ? undefined : agentsByOrigin.get(origin);
      if (agent !== undefined) config.httpsAgent = agent;
    }
    return config;
  });
}

/** Reads the directory ourselves first, with a bound, so that an unreachable CA fails in seconds with a useful message. */
function probeDirectory(directoryUrl: string, agent: https.Agent | undefined, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = https.get(directoryUrl, { agent: agent ?? false, timeout: timeoutMs, headers: { accept: 'application/json' } }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > 64 * 1024) {
          request.destroy(new AcmeError('ACME_DIRECTORY_INVALID', `the ACME directory ${directoryUrl} answered with more than 64 KiB; is it an ACME directory URL?`));
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () => {
        if (response.statusCode !== 200) {
          reject(new AcmeError('ACME_DIRECTORY_INVALID', `the ACME directory ${directoryUrl} answered HTTP ${String(response.statusCode)}; check PORTCULLIS_ACME_DIRECTORY_URL`));
          return;
        }
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        if (typeof body !== 'object' || body === null || !('newOrder' in body) || !('newAccount' in body)) {
          reject(new AcmeError('ACME_DIRECTORY_INVALID', `${directoryUrl} is not an ACME directory (no newAccount/newOrder); check PORTCULLIS_ACME_DIRECTORY_URL`));
          return;
        }
        resolve();
      });
      response.on('error', reject);
    });
    request.on('timeout', () => {
      request.destroy(new AcmeError('ACME_DIRECTORY_UNREACHABLE', `the ACME directory ${directoryUrl} did not answer within ${timeoutMs} ms`));
    });
    request.on('error', (error: Error & { code?: string }) => {
      if (error instanceof AcmeError) {
        reject(error);
        return;
      }
      const code = error.code ?? '';
      if (/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS_CERT_ALTNAME/.test(code)) {
        reject(
          new AcmeError(
            'ACME_DIRECTORY_UNTRUSTED',
            `the TLS certificate of the ACME directory ${directoryUrl} is not trusted (${code}); for a private or test CA such as pebble, set PORTCULLIS_ACME_CA_FILE to the PEM of the CA that signed it`,
            { cause: error },
          ),
        );
        return;
      }
      reject(new AcmeError('ACME_DIRECTORY_UNREACHABLE', `the ACME directory ${directoryUrl} could not be reached (${code || error.message}); check PORTCULLIS_ACME_DIRECTORY_URL and the network`, { cause: error }));
    });
  });
}

/** What is kept beside the certificate, so that a certificate from another CA or for another name is not reused. */
interface KeptOrderInfo {
  readonly directoryUrl: string;
  readonly domain: string;
}

interface KeptCertificate {
  readonly credentials: Credentials;
  readonly validFrom: number;
  readonly validTo: number;
}

function describe(cert: X509Certificate): Record<string, string> {
  return { subject: cert.subject.replace(/\n/g, ', '), issuer: cert.issuer.replace(/\n/g, ', '), serial: cert.serialNumber, validTo: new Date(cert.validTo).toISOString() };
}

export function createAcmeClient(tls: AcmeTlsConfig, domain: string, logger: Logger, options: AcmeClientOptions = {}): AcmeClient {
  const settings = { ...defaults, ...options };
  const tlsDir = path.dirname(tls.certFile);
  const accountKeyFile = path.join(tlsDir, 'acme-account-key.pem');
  const orderInfoFile = path.join(tlsDir, 'acme-order.json');
  const log = logger.child({ component: 'acme' });
  const identifier = { type: isIP(domain) === 0 ? 'dns' : 'ip', value: domain } as const;

  /** HTTP-01 answers while an order is open: token to key authorisation. */
  const pendingChallenges = new Map<string, string>();
  let agent: https.Agent | undefined;
  let agentReady: Promise<void> | undefined;
  let inFlight: Promise<Credentials> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let renewing = false;
  let stopped = false;

  const prepareAgent = (): Promise<void> => {
    agentReady ??= (async () => {
      if (tls.caFile === undefined) return;
      let extraCa: string;
      try {
        extraCa = await readFile(tls.caFile, 'utf8');
        new X509Certificate(extraCa);
      } catch (error) {
        agentReady = undefined;
        throw new AcmeError('ACME_CA_FILE_UNREADABLE', `PORTCULLIS_ACME_CA_FILE (${tls.caFile}) is not a readable PEM certificate`, { cause: error });
      }
      agent = new https.Agent({ ca: [...rootCertificates, extraCa], keepAlive: false });
      trustExtraCaFor(tls.directoryUrl, agent);
      log.info({ caFile: tls.caFile, directory: tls.directoryUrl }, 'trusting an extra CA for the ACME directory only');
    })();
    return agentReady;
  };

  const readKept = async (): Promise<KeptCertificate | undefined> => {
    const [cert, key, info] = await Promise.all([readIfExists(tls.certFile), readIfExists(tls.keyFile), readIfExists(orderInfoFile)]);
    if (cert === undefined || key === undefined) return undefined;
    try {
      const x509 = new X509Certificate(cert);
      const kept = info === undefined ? undefined : (JSON.parse(info) as Partial<KeptOrderInfo>);
      if (kept?.directoryUrl !== tls.directoryUrl || kept.domain !== domain) {
        log.info({ domain, directory: tls.directoryUrl }, 'the kept certificate came from another ACME directory or is for another name: ordering a new one');
        return undefined;
      }
      const matchesName = identifier.type === 'dns' ? x509.checkHost(domain) !== undefined : x509.checkIP(domain) !== undefined;
      if (!matchesName || !x509.checkPrivateKey(createPrivateKey(key))) {
        log.warn({ certFile: tls.certFile }, 'the kept certificate does not match its key or the public hostname: ordering a new one');
        return undefined;
      }
      return { credentials: { cert, key }, validFrom: Date.parse(x509.validFrom), validTo: Date.parse(x509.validTo) };
    } catch (error) {
      log.warn({ certFile: tls.certFile, err: error }, 'the kept certificate could not be read: ordering a new one');
      return undefined;
    }
  };

  /** When the kept certificate becomes due for renewal. */
  const renewalTime = (kept: KeptCertificate): number => {
    const lifetime = kept.validTo - kept.validFrom;
    const margin = options.renewBeforeExpiryMs ?? Math.min(settings.renewBeforeExpiryMs, lifetime / 3);
    return kept.validTo - margin;
  };

  const loadAccountKey = async (): Promise<string> => {
    const existing = await readIfExists(accountKeyFile);
    if (existing !== undefined) return existing;
    const created = (await acmeCrypto.createPrivateEcdsaKey('P-256')).toString('utf8');
    await writeFileAtomically(accountKeyFile, created, 0o600);
    log.info({ accountKeyFile }, 'created a new ACME account key');
    return created;
  };

  const answerAuthorization = async (client: Client, authorization: Authorization): Promise<void> => {
    if (authorization.status === 'valid') {
      log.info({ domain: authorization.identifier.value }, 'the CA still holds a valid authorisation for this name: no challenge needed');
      return;
    }
    const challenge = authorization.challenges.find((candidate) => candidate.type === 'http-01');
    if (challenge === undefined) {
      throw new AcmeError('ACME_NO_HTTP01_CHALLENGE', `the CA offered no http-01 challenge for ${authorization.identifier.value} (wildcards need dns-01, which Portcullis does not do)`);
    }
    const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
    pendingChallenges.set(challenge.token, keyAuthorization);
    try {
      log.info({ domain: authorization.identifier.value }, 'HTTP-01 challenge ready on the plain-HTTP listener; asking the CA to validate');
      await client.completeChallenge(challenge);
      await client.waitForValidStatus(challenge);
      log.info({ domain: authorization.identifier.value }, 'HTTP-01 challenge validated');
    } finally {
      pendingChallenges.delete(challenge.token);
    }
  };

  /**
   * Registers the account key (accepting the CA's terms), or finds the account it already has.
   * For an existing account acme-client follows up with an update carrying the same payload; a CA
   * may refuse that as an empty update (pebble does when no email is set). The account is known
   * by then, so that refusal is harmless.
   */
  const registerAccount = async (client: Client): Promise<void> => {
    try {
      await client.createAccount({ termsOfServiceAgreed: true, ...(tls.email === undefined ? {} : { contact: [`mailto:${tls.email}`] }) });
    } catch (error) {
      try {
        client.getAccountUrl();
      } catch {
        throw error;
      }
      log.debug({ reason: error instanceof Error ? error.message : String(error) }, 'the CA refused a no-op update of the existing ACME account; using it as it is');
    }
  };

  const order = async (): Promise<Credentials> => {
    await prepareAgent();
    log.info({ domain, directory: tls.directoryUrl }, 'ordering a certificate over ACME');
    await probeDirectory(tls.directoryUrl, agent, settings.directoryTimeoutMs);
    try {
      const client = new Client({ directoryUrl: tls.directoryUrl, accountKey: await loadAccountKey(), backoffAttempts: 10, backoffMin: 1_000, backoffMax: 10_000 });
      await registerAccount(client);
      log.info({ account: client.getAccountUrl(), contact: tls.email !== undefined }, 'ACME account ready (terms of service accepted)');
      const placed = await client.createOrder({ identifiers: [identifier] });
      for (const authorization of await client.getAuthorizations(placed)) await answerAuthorization(client, authorization);
      const certificateKey = await acmeCrypto.createPrivateEcdsaKey('P-256');
      const [, csr] = await acmeCrypto.createCsr({ ...(identifier.type === 'dns' ? { commonName: domain } : {}), altNames: [domain] }, certificateKey);
      const finalized = await client.finalizeOrder(placed, csr);
      const chain = await client.getCertificate(finalized);
      const credentials = { cert: chain, key: certificateKey.toString('utf8') };
      const leaf = new X509Certificate(chain);
      if (!leaf.checkPrivateKey(createPrivateKey(credentials.key))) throw new Error('the CA returned a certificate for another key');
      // Key first, then certificate: a crash in between leaves a mismatched pair, which readKept
      // notices (checkPrivateKey) and answers with a new order.
      await writeFileAtomically(tls.keyFile, credentials.key, 0o600);
      await writeFileAtomically(tls.certFile, chain, 0o644);
      await writeFileAtomically(orderInfoFile, `${JSON.stringify({ directoryUrl: tls.directoryUrl, domain } satisfies KeptOrderInfo)}\n`, 0o644);
      log.info(describe(leaf), 'certificate issued over ACME');
      return credentials;
    } catch (error) {
      if (error instanceof AcmeError) throw error;
      throw new AcmeError('ACME_ORDER_FAILED', `ordering a certificate for ${domain} from ${tls.directoryUrl} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  };

  /** One order at a time: a reload during a renewal waits for it instead of ordering twice. */
  const orderOnce = (): Promise<Credentials> => {
    inFlight ??= order().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  const ensureCertificate = async (): Promise<Credentials> => {
    // Read the CA file now: at start the process may still be root, and a later renewal (after
    // the privilege drop) must not depend on reading a file only root can read.
    await prepareAgent();
    const kept = await readKept();
    if (kept !== undefined && Date.now() < renewalTime(kept)) {
      log.info({ certFile: tls.certFile, validTo: new Date(kept.validTo).toISOString(), renewAfter: new Date(renewalTime(kept)).toISOString() }, 'using the kept ACME certificate');
      return kept.credentials;
    }
    try {
      return await orderOnce();
    } catch (error) {
      if (kept !== undefined && Date.now() < kept.validTo) {
        log.error({ err: error, validTo: new Date(kept.validTo).toISOString() }, 'renewing the ACME certificate failed; serving the kept one, which is still valid');
        return kept.credentials;
      }
      throw error;
    }
  };

  const startRenewal = (onRenewed: (credentials: Credentials) => void): void => {
    if (renewing) return;
    renewing = true;
    stopped = false;
    const schedule = (delayMs: number): void => {
      if (stopped) return;
      // setTimeout overflows past 2^31-1 ms; the interval bound keeps every wait well below it.
      timer = setTimeout(check, Math.max(0, Math.min(delayMs, settings.checkIntervalMs)));
      timer.unref();
    };
    const check = (): void => {
      void (async () => {
        try {
          const kept = await readKept();
          const due = kept === undefined ? Date.now() : renewalTime(kept);
          if (Date.now() < due) {
            schedule(due - Date.now());
            return;
          }
          log.info({ domain }, 'the ACME certificate is due for renewal');
          const fresh = await orderOnce();
          if (stopped) return;
          onRenewed(fresh);
          log.info({ domain }, 'renewed certificate swapped in; new connections use it');
          schedule(settings.checkIntervalMs);
        } catch (error) {
          log.error({ err: error, retryInMs: settings.retryDelayMs }, 'ACME renewal failed; the current certificate stays in use');
          schedule(settings.retryDelayMs);
        }
      })();
    };
    void readKept().then(
      (kept) => {
        const due = kept === undefined ? Date.now() : renewalTime(kept);
        schedule(due - Date.now());
        log.info({ nextCheck: new Date(Date.now() + Math.max(0, Math.min(due - Date.now(), settings.checkIntervalMs))).toISOString() }, 'ACME renewal timer started');
      },
      (error: unknown) => {
        log.error({ err: error }, 'could not read the kept certificate to plan renewal');
        schedule(settings.retryDelayMs);
      },
    );
  };

  return {
    respondToChallenge: (token) => pendingChallenges.get(token),
    ensureCertificate,
    startRenewal,
    stop() {
      stopped = true;
      renewing = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
