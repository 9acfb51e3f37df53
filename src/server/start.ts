// src/server/start.ts
// startServer(): database, certificates, the application and its listeners, and a close() that
// stops them gracefully. The CLI's `serve` and the integration tests both start the server here.

import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { createApp } from '../app.js';
import { setUpAccounts } from '../accounts/setup.js';
import type { AccountService } from '../accounts/types.js';
import type { MfaService } from '../accounts/mfa/service.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import { collectSecurityHeaders } from '../security/headers.js';
import { startMonitoring, type Monitoring } from '../observability/monitoring.js';
import { createRedirectHandler, hardenedTlsOptions } from '../security/https.js';
import { isDatabaseReachable, migrateToLatest, openDatabase, type Db } from '../storage/database.js';
import { KyselySessionStore } from '../storage/sessions/kysely-session-store.js';
import type { SessionStorePort } from '../storage/sessions/port.js';
import { createSharedState, type SharedState } from './shared-state.js';
import { createAcmeClient, type AcmeClient } from './acme.js';
import { ensureSelfSignedCertificate, readCredentials, type Credentials } from './certificates.js';
import { createClientErrorHandler } from './client-errors.js';

export interface RunningServer {
  readonly app: Express;
  readonly db: Db;
  readonly sessionStore: SessionStorePort;
  /** Rate limits, sign-in throttling and (with Redis) the connection they share. */
  readonly shared: SharedState;
  readonly accounts: AccountService;
  /** Metrics, the security dashboard's data, audit retention and alerts (issue 6). */
  readonly monitoring: Monitoring;
  /** The Prometheus listener (http://host:port), unless PORTCULLIS_METRICS_ADDR is off or it could not bind. */
  readonly metricsUrl: string | undefined;
  /** Second factors (issue 4), for tests that look behind the pages. */
  readonly mfa: MfaService;
  /** The main listener: HTTPS, or plain HTTP behind a TLS-terminating proxy. */
  readonly mainServer: https.Server | http.Server;
  readonly redirectServer: http.Server | undefined;
  readonly mainUrl: string;
  readonly redirectUrl: string | undefined;
  /** Loads the certificate files again; open connections keep the old one until they close. */
  reloadCertificates(): Promise<void>;
  close(): Promise<void>;
}

export interface StartServerOptions {
  readonly config: Config;
  readonly logger: Logger;
  /**
   * Runs once every port is bound and before any request reaches a handler: `serve` drops root
   * here. Requests that arrive earlier wait for it, so no handler ever runs with its privileges.
   */
  readonly beforeServing?: () => void;
}

/** How often expired session rows are deleted. */
const pruneIntervalMs = 10 * 60_000;

function listen(server: http.Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function urlOf(scheme: 'http' | 'https', address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}

/** Timeouts that stop slow-loris style clients from holding sockets. */
function applyTimeouts(server: http.Server): void {
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  server.timeout = 60_000;
}

/**
 * Wraps a request handler so that it only runs once the gate is open. The kernel may accept a
 * connection as soon as a port is bound; its request is held until beforeServing() has run.
 */
function gated(handler: http.RequestListener, gate: Promise<void>, isOpen: () => boolean): http.RequestListener {
  return (req, res) => {
    if (isOpen()) handler(req, res);
    else
      void gate.then(() => {
        handler(req, res);
      });
  };
}

export async function startServer({ config, logger, beforeServing }: StartServerOptions): Promise<RunningServer> {
  const db = openDatabase(config.database);
  const { applied } = await migrateToLatest(db);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');

  // Redis when configured (several instances), else the database: sessions, rate-limit counters
  // and sign-in throttling live where every instance sees the same state.
  const shared = await createSharedState({ config, logger, db });
  const sessionStore: SessionStorePort = shared.redisSessionStore ?? new KyselySessionStore(db, config.session);
  // The account domain (with its mailer and password policy) for the pages and the JSON API.
  // With Redis, the domain ends sessions there too (account deleted or disabled, role changed).
  const redisSessions = shared.redisSessionStore;
  const accounts = setUpAccounts({ db, config, logger, ...(redisSessions === undefined ? {} : { revokeSessions: (userId: string) => redisSessions.revokeAllForUser(userId) }) });
  try {
    // The blocklist and the strength worker load now, not on the first sign-up's clock.
    await accounts.preload();
  } catch (error) {
    await accounts.close();
    await shared.close();
    await db.destroy();
    throw error;
  }
  const signInProtection = shared.signInProtection(accounts);
  // Metrics, the audit chain's upkeep, the dashboard and alerts (observability/monitoring.ts).
  const monitoring = startMonitoring({ config, logger, db, sessionStore });
  const { app, listener } = createApp({
    config,
    logger,
    sessionStore,
    accounts: accounts.service,
    mfa: accounts.mfa,
    monitoring: monitoring.forApp,
    isReady: () => isDatabaseReachable(db),
    rateLimiters: shared.rateLimiters,
    signInProtection,
    stateBackend: shared.redis,
  });
  const securityHeaders = collectSecurityHeaders({ hstsMaxAgeSeconds: config.hsts.maxAgeSeconds, hstsPreload: config.hsts.preload });

  const tls = config.tls;
  let acme: AcmeClient | undefined;
  const loadCredentials = async (): Promise<Credentials | undefined> => {
    switch (tls.mode) {
      case 'proxy':
        return undefined;
      case 'self-signed': {
        const { created } = await ensureSelfSignedCertificate(tls.certFile, tls.keyFile);
        if (created) logger.info({ certFile: tls.certFile }, 'created a self-signed development certificate');
        return readCredentials(tls.certFile, tls.keyFile);
      }
      case 'files':
        return readCredentials(tls.certFile, tls.keyFile);
      case 'acme':
        acme ??= createAcmeClient(tls, config.publicUrl.hostname, logger);
        return acme.ensureCertificate();
    }
  };

  let open = false;
  let openGate: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    openGate = resolve;
  });

  // Certificate files are read before anything is bound (and before root is dropped, so a key
  // readable only by root still loads). ACME certificates come later: their challenge is
  // answered on the redirect listener, which must be serving by then.
  let credentials: Credentials | undefined;
  try {
    credentials = tls.mode === 'acme' ? undefined : await loadCredentials();
  } catch (error) {
    await accounts.close();
    await shared.close();
    await db.destroy();
    throw error;
  }

  let redirectServer: http.Server | undefined;
  let redirectUrl: string | undefined;
  if (config.httpPort !== null) {
    const redirect = createRedirectHandler(config.publicOrigin, securityHeaders);
    redirectServer = http.createServer(gated((req, res) => {
      const token = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]{1,128})$/.exec(req.url ?? '')?.[1];
      const answer = token === undefined ? undefined : acme?.respondToChallenge(token);
      if (answer !== undefined) {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end(answer);
        return;
      }
      redirect(req, res);
    }, gate, () => open));
    applyTimeouts(redirectServer);
    redirectServer.on('clientError', createClientErrorHandler(securityHeaders, logger));
    redirectUrl = urlOf('http', await listen(redirectServer, config.host, config.httpPort));
  }

  // With ACME the TLS listener starts without a certificate (handshakes fail) until one is had.
  const serveApp = gated(listener, gate, () => open);
  const mainServer =
    tls.mode === 'proxy' ? http.createServer(serveApp) : https.createServer(hardenedTlsOptions(credentials ?? {}), serveApp);
  applyTimeouts(mainServer);
  mainServer.on('clientError', createClientErrorHandler(securityHeaders, logger));
  mainServer.on('tlsClientError', (error: Error & { code?: string }) => {
    logger.debug({ tlsError: error.code }, 'TLS handshake failed');
  });
  const mainUrl = urlOf(tls.mode === 'proxy' ? 'http' : 'https', await listen(mainServer, config.host, config.httpsPort));

  // Prometheus scrapes a listener of its own, never the public one (PORTCULLIS_METRICS_ADDR).
  let metricsServer: http.Server | undefined;
  let metricsUrl: string | undefined;
  if (config.monitoring.metrics !== null) {
    const address = config.monitoring.metrics;
    const server = http.createServer(gated(monitoring.metrics.handler, gate, () => open));
    applyTimeouts(server);
    try {
      metricsUrl = urlOf('http', await listen(server, address.host, address.port));
      metricsServer = server;
    } catch (error) {
      // Signing in must not depend on monitoring: serve without /metrics, and say so loudly.
      logger.error({ code: 'METRICS_LISTENER_FAILED', address: `${address.host}:${address.port}`, cause: error instanceof Error ? error.message : String(error) }, 'the metrics listener could not start; serving without /metrics');
    }
  }

  const release = async () => {
    await Promise.all([mainServer, redirectServer, metricsServer].map((server) => (server === undefined ? Promise.resolve() : stopAccepting(server, 0))));
    await monitoring.close();
    await accounts.close();
    await shared.close();
    await db.destroy();
  };
  try {
    beforeServing?.();
  } catch (error) {
    await release();
    throw error;
  }
  open = true;
  openGate();

  if (tls.mode === 'acme' && mainServer instanceof https.Server) {
    try {
      mainServer.setSecureContext(hardenedTlsOptions(await loadCredentials() ?? {}));
    } catch (error) {
      // No certificate, no service: release the ports and the database before failing the start.
      await release();
      throw error;
    }
  }
  if (acme !== undefined && mainServer instanceof https.Server) {
    const server = mainServer;
    // Renewed certificates are swapped in live; open connections finish on the old one.
    acme.startRenewal((fresh) => {
      server.setSecureContext(hardenedTlsOptions(fresh));
    });
  }

  const pruneTimer = setInterval(() => {
    sessionStore.pruneExpired().then(
      (removed) => {
        if (removed > 0) logger.debug({ removed }, 'expired sessions pruned');
      },
      (error: unknown) => {
        logger.warn({ err: error }, 'pruning expired sessions failed');
      },
    );
    // Used and expired email links go with them: their rows are no use to anyone.
    accounts.pruneTokens().then(
      (removed) => {
        if (removed > 0) logger.debug({ removed }, 'spent and expired one-time tokens pruned');
      },
      (error: unknown) => {
        logger.warn({ err: error }, 'pruning one-time tokens failed');
      },
    );
    // Spent WebAuthn challenges and wrong second-factor codes older than their window.
    accounts.mfa.prune().then(
      (removed) => {
        if (removed > 0) logger.debug({ removed }, 'expired passkey challenges and second-factor failures pruned');
      },
      (error: unknown) => {
        logger.warn({ err: error }, 'pruning passkey challenges and second-factor failures failed');
      },
    );
    shared.prune().then(
      (removed) => {
        if (removed > 0) logger.debug({ removed }, 'expired rate-limit counters pruned');
      },
      (error: unknown) => {
        logger.warn({ err: error }, 'pruning rate-limit counters failed');
      },
    );
  }, pruneIntervalMs);
  pruneTimer.unref();
  monitoring.begin();

  const reloadCertificates = async (): Promise<void> => {
    const fresh = await loadCredentials();
    if (fresh !== undefined && mainServer instanceof https.Server) mainServer.setSecureContext(hardenedTlsOptions(fresh));
  };

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(pruneTimer);
      acme?.stop();
      await Promise.all([mainServer, redirectServer, metricsServer].map((server) => (server === undefined ? Promise.resolve() : stopAccepting(server, config.shutdownTimeoutMs))));
      await monitoring.close();
      await accounts.close();
      await shared.close();
      await db.destroy();
    })();
    return closing;
  };

  return { app, db, sessionStore, shared, accounts: accounts.service, mfa: accounts.mfa, mainServer, redirectServer, mainUrl, redirectUrl, reloadCertificates, close, monitoring, metricsUrl };
}

/** Stops accepting, lets in-flight requests finish within the bound, then cuts what is left. */
function stopAccepting(server: http.Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.closeAllConnections();
    }, timeoutMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
