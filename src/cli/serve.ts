// src/cli/serve.ts
// `portcullis serve`: start the server, drop root, reload certificates on SIGHUP, stop gracefully
// on SIGTERM/SIGINT, and exit non-zero after logging anything uncaught.

import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/config.js';
import { formatProblem, type ConfigProblem } from '../config/config-error.js';
import { currentNodeMajor, nodeSupportStatus } from '../security/node-support.js';
import { dropPrivileges, findUnreadable, isRoot, PrivilegeError, resolveUnprivilegedUser, type UnprivilegedUser } from '../security/privileges.js';
import { ExitCode } from './exit-codes.js';
import { CommandExit, prepareEnvironment } from './environment.js';

export const serveHelp = `Usage: portcullis serve

Starts the HTTPS server (and the plain-HTTP listener that only redirects to it).
All settings come from PORTCULLIS_* environment variables or a .env file in the working
directory; see README.md for the table. Secrets are never taken from the command line.

Signals: SIGHUP reloads the certificate; SIGTERM and SIGINT stop gracefully.`;

/**
 * What the unprivileged user must own: the data directory, and a SQLite database kept outside it
 * (the file and its WAL companions only, never the folder around it).
 */
function ownedPaths(config: Config): string[] {
  const paths = [config.dataDir];
  const database = config.database;
  if (database.kind === 'sqlite' && database.filename !== ':memory:' && !database.filename.startsWith(`${config.dataDir}${path.sep}`)) {
    paths.push(...[database.filename, `${database.filename}-wal`, `${database.filename}-shm`].filter((file) => existsSync(file)));
  }
  return paths;
}

/**
 * What the unprivileged user must read while serving, checked right after the drop: the assets
 * under public/assets (read on each request for them), the compiled code and the dependencies
 * (loaded lazily: the body parser's character sets on the first request with a body, the
 * password-strength worker when it restarts). Listed while still root.
 */
function servedPaths(publicDirectory: string): string[] {
  const code = fileURLToPath(new URL('../', import.meta.url));
  const dependencies = path.dirname(path.dirname(createRequire(import.meta.url).resolve('express')));
  const assets = readdirSync(publicDirectory, { recursive: true, encoding: 'utf8' }).map((entry) => path.join(publicDirectory, entry));
  return [code, dependencies, publicDirectory, ...assets].map((entry) => path.resolve(entry));
}

function configRefusal(problem: ConfigProblem): CommandExit {
  return new CommandExit(ExitCode.config, `portcullis: refusing to start because of the configuration:\n${formatProblem(problem)}`);
}

export async function runServe(): Promise<number> {
  const { config, warnings, logger } = await prepareEnvironment();
  for (const warning of warnings) logger.warn(warning);
  const node = nodeSupportStatus(currentNodeMajor());
  if (node.pastEndOfLife) {
    logger.warn(`Node.js ${node.major} reached end of life on ${node.endOfLife ?? 'an earlier date'} and gets no security fixes; upgrade to the current LTS`);
  }

  // Find the user to drop to before anything is bound or written: a wrong name is a configuration
  // error with its fix, not a server that starts and then stops.
  let dropTo: UnprivilegedUser | undefined;
  if (isRoot()) {
    if (config.runAsUser === undefined) logger.warn('started as root without PORTCULLIS_RUN_AS_USER: dropping to "nobody" (development only)');
    try {
      dropTo = resolveUnprivilegedUser(config.runAsUser ?? 'nobody');
    } catch (error) {
      if (!(error instanceof PrivilegeError)) throw error;
      throw configRefusal({
        setting: 'PORTCULLIS_RUN_AS_USER',
        problem: error.message,
        fix: 'name an existing unprivileged user, for example one made with: useradd --system --no-create-home portcullis',
      });
    }
  }

  // Loaded only now: --help and configuration refusals answer without loading the web stack.
  const [{ startServer }, { publicDirectory }] = await Promise.all([import('../server/start.js'), import('../web/static.js')]);
  // Ports are bound as root (they may be below 1024); root is dropped before any request is handled.
  const user = dropTo;
  const beforeServing =
    user === undefined
      ? undefined
      : () => {
          const needed = servedPaths(publicDirectory);
          const dropped = dropPrivileges(user, ownedPaths(config));
          logger.info({ uid: dropped.uid, gid: dropped.gid }, `dropped root privileges to ${dropped.name}`);
          // A tree only root can read would start, then fail every request (unstyled pages, 400s).
          const unreadable = findUnreadable(needed);
          if (unreadable !== undefined) {
            throw configRefusal({
              setting: 'PORTCULLIS_RUN_AS_USER',
              problem: `the user "${dropped.name}" cannot read ${unreadable.path}, which the server reads while serving`,
              fix: `let that user read the application's files (for example: chmod o+rX ${unreadable.blockedAt}), or run as a user that can`,
            });
          }
        };
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({ config, logger, beforeServing });
  } catch (error) {
    if (!(error instanceof PrivilegeError)) throw error;
    logger.fatal({ err: error }, 'could not drop root privileges; refusing to serve');
    return ExitCode.config;
  }

  logger.info({ url: config.publicOrigin, listening: server.mainUrl, redirect: server.redirectUrl, metrics: server.metricsUrl }, `Portcullis is listening on ${server.mainUrl} (public URL ${config.publicOrigin})`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (code: number) => {
      if (stopping) return;
      stopping = true;
      server.close().then(
        () => {
          logger.info('stopped');
          resolve(code);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'error while stopping');
          resolve(ExitCode.failure);
        },
      );
    };
    process.on('SIGTERM', () => {
      logger.info('SIGTERM received: finishing requests in flight');
      stop(ExitCode.ok);
    });
    process.on('SIGINT', () => {
      logger.info('SIGINT received: finishing requests in flight');
      stop(ExitCode.ok);
    });
    process.on('SIGHUP', () => {
      server.reloadCertificates().then(
        () => {
          logger.info('certificate reloaded');
        },
        (error: unknown) => {
          logger.error({ err: error }, 'certificate reload failed; keeping the current one');
        },
      );
    });
    const crash = (kind: string) => (error: unknown) => {
      logger.fatal({ err: error }, `${kind}: stopping`);
      stop(ExitCode.failure);
    };
    process.on('uncaughtException', crash('uncaught exception'));
    process.on('unhandledRejection', crash('unhandled promise rejection'));
  });
}
