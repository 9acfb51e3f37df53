// src/config/load.ts
// loadConfig(): environment in, frozen Config out. Fails fast with one line per problem, naming
// the setting and its fix; in production it refuses every setting that would weaken a practice.

import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Config, DatabaseConfig, TlsConfig } from './config.js';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { settingNames, settingsSchema, type RawSettings } from './settings.js';
import { hostCookiePrefix, stackRevealedBy } from '../security/cookie-names.js';
import { decideRelyingParty } from './relying-party.js';
import { resolveMonitoring } from './monitoring.js';

export const minimumMasterKeyBytes = 32;

export interface LoadConfigOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** The effective uid to judge against (injectable for tests); defaults to process.geteuid(). */
  readonly euid?: number;
}

export interface LoadedConfig {
  readonly config: Config;
  /** Things worth one line at start that do not stop it (development only). */
  readonly warnings: readonly string[];
}

/** How to fix each setting when its value does not parse. */
const fixes = new Map<string, string>(Object.entries({
  PORTCULLIS_DATABASE_PREPARED_STATEMENTS: 'use on, or off when PostgreSQL is reached through PgBouncer in transaction mode before version 1.21',
  PORTCULLIS_HTTPS_PORT: 'use a port number from 0 to 65535',
  PORTCULLIS_HTTP_PORT: 'use a port number, or "off" to disable the redirect listener',
  PORTCULLIS_PUBLIC_URL: 'use the https:// address users type, for example https://accounts.example.com',
  PORTCULLIS_TRUST_PROXY: 'set the number of proxies in front of Portcullis (for example 1), or their addresses as a CIDR list (for example 10.0.0.0/8), or leave it unset',
  PORTCULLIS_BODY_LIMIT: 'use a size between 1kb and 10mb, for example 16kb',
  PORTCULLIS_SESSION_IDLE_MINUTES: 'use a whole number of minutes from 1 to 60 (NIST AAL2 allows at most 60)',
  PORTCULLIS_SESSION_ABSOLUTE_HOURS: 'use a whole number of hours from 1 to 24 (NIST AAL2 allows at most 24)',
  PORTCULLIS_RUN_AS_USER: 'name an existing unprivileged user, for example portcullis',
  PORTCULLIS_PASSWORD_HASH: 'use bcrypt or argon2id',
  PORTCULLIS_BCRYPT_COST: 'use a whole number from 10 (the OWASP floor) to 16; 12 is the usual production value',
  PORTCULLIS_PASSWORD_MIN_LENGTH: 'use a whole number from 8 to 64; 15 is what NIST asks when the password is the only factor',
  PORTCULLIS_HIBP: 'use on or off',
  PORTCULLIS_HIBP_URL: 'use the range API base URL, for example https://api.pwnedpasswords.com/range/',
  PORTCULLIS_HIBP_TIMEOUT_MS: 'use a number of milliseconds from 100 to 10000',
  PORTCULLIS_SMTP_URL: 'use smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465, or leave it unset to write mail to DATA_DIR/outbox',
  PORTCULLIS_MAIL_FROM: 'use a sender such as Portcullis <no-reply@example.com>',
  PORTCULLIS_REQUIRE_VERIFIED_EMAIL: 'use on or off',
  PORTCULLIS_MFA_REQUIRED: 'use admin (administrators must use a second factor), all, or none',
  PORTCULLIS_WEBAUTHN_RP_ID: 'use the host of PORTCULLIS_PUBLIC_URL or a parent domain of it, or leave it unset',
  PORTCULLIS_REDIS_URL: 'use redis://[:PASSWORD@]HOST:PORT[/DB] or rediss:// for TLS, or leave it unset to keep sessions and counters in the database',
  PORTCULLIS_REDIS_PREFIX: 'use a short name such as portcullis: (letters, digits, ":", "_", "." or "-")',
  PORTCULLIS_RATE_LIMIT_WINDOW_MINUTES: 'use a whole number of minutes from 1 to 1440',
  PORTCULLIS_RATE_LIMIT_MAX: 'use a whole number of requests from 10 upwards; 300 per 15 minutes is the default',
  PORTCULLIS_RATE_LIMIT_AUTH_MAX: 'use a whole number of requests from 1 upwards; 20 per window is the default',
  PORTCULLIS_RATE_LIMIT_EMAIL_MAX: 'use a whole number of requests from 1 upwards; 5 per window is the default',
  PORTCULLIS_SIGN_IN_THROTTLE_AFTER: 'use a whole number of failures from 1 to 20; 5 is the default',
  PORTCULLIS_SIGN_IN_DELAY_SECONDS: 'use a whole number of seconds from 1 to 3600; 60 is the default',
  PORTCULLIS_SIGN_IN_DELAY_MAX_MINUTES: 'use a whole number of minutes from 1 to 1440; 60 is the default',
  PORTCULLIS_SIGN_IN_MAX_FAILURES: 'use a whole number from 10 to 100 (NIST 800-63B-4 allows at most 100)',
  PORTCULLIS_SIGN_IN_IP_MAX_FAILURES: 'use a whole number of failures per hour from 5 upwards; 30 is the default',
  PORTCULLIS_SIGN_IN_DEVICE_MAX_FAILURES: 'use a whole number from 1 to 50; 10 is the default',
  PORTCULLIS_METRICS_ADDR: 'use HOST:PORT (for example 127.0.0.1:9464), a port alone, or "off"',
  PORTCULLIS_AUDIT_RETENTION_DAYS: 'use a whole number of days from 1 upwards, or "off" to keep every audit event',
  PORTCULLIS_ALERT_WEBHOOK_URL: 'use the https:// address that receives alerts',
  PORTCULLIS_ALERT_WEBHOOK_SECRET: 'use at least 16 random characters, for example from: openssl rand -base64 32',
  PORTCULLIS_ALERT_FAILURES_PER_MINUTE: 'use a whole number of failures per minute from 1 upwards; 60 is the default',
  PORTCULLIS_ALERT_THROTTLED_ACCOUNTS: 'use a whole number of accounts from 1 upwards; 5 is the default',
}));

function pickSettings(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const known = new Set<string>(settingNames);
  // An empty variable means "not set", as shells and .env files commonly write it.
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => known.has(entry[0]) && entry[1] !== undefined && entry[1] !== ''),
  );
}

function parseSettings(env: Readonly<Record<string, string | undefined>>): RawSettings {
  const result = settingsSchema.safeParse(pickSettings(env));
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const setting = String(issue.path[0] ?? 'environment');
      return { setting, problem: `invalid value (${issue.message})`, fix: fixes.get(setting) ?? 'correct the value or unset it to use the default' };
    }),
  );
}

function resolveDatabase(raw: RawSettings, dataDir: string, cwd: string): DatabaseConfig | ConfigProblem {
  const url = raw.PORTCULLIS_DATABASE_URL;
  if (url === undefined) return { kind: 'sqlite', filename: path.join(dataDir, 'portcullis.db') };
  if (url === 'sqlite::memory:') return { kind: 'sqlite', filename: ':memory:' };
  if (url.startsWith('sqlite:')) return { kind: 'sqlite', filename: path.resolve(cwd, url.slice('sqlite:'.length)) };
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    if (URL.canParse(url)) return { kind: 'postgres', url, poolSize: 10, preparedStatements: raw.PORTCULLIS_DATABASE_PREPARED_STATEMENTS };
    return { setting: 'PORTCULLIS_DATABASE_URL', problem: 'the PostgreSQL URL does not parse', fix: 'use postgres://USER:PASSWORD@HOST:PORT/DATABASE' };
  }
  return {
    setting: 'PORTCULLIS_DATABASE_URL',
    problem: 'unsupported database URL scheme',
    fix: 'use sqlite:PATH, postgres://USER:PASSWORD@HOST:PORT/DATABASE, or leave it unset for DATA_DIR/portcullis.db',
  };
}

function resolveTls(raw: RawSettings, dataDir: string, cwd: string, isProduction: boolean): TlsConfig | ConfigProblem {
  const cert = raw.PORTCULLIS_TLS_CERT;
  const key = raw.PORTCULLIS_TLS_KEY;
  if ((cert === undefined) !== (key === undefined)) {
    return {
      setting: cert === undefined ? 'PORTCULLIS_TLS_CERT' : 'PORTCULLIS_TLS_KEY',
      problem: 'a certificate needs both PORTCULLIS_TLS_CERT and PORTCULLIS_TLS_KEY',
      fix: 'set both to the PEM files of the certificate chain and its private key',
    };
  }
  if (cert !== undefined && key !== undefined) {
    return { mode: 'files', certFile: path.resolve(cwd, cert), keyFile: path.resolve(cwd, key) };
  }
  const tlsDir = path.join(dataDir, 'tls');
  if (raw.PORTCULLIS_ACME_DIRECTORY_URL !== undefined) {
    return {
      mode: 'acme',
      certFile: path.join(tlsDir, 'acme-cert.pem'),
      keyFile: path.join(tlsDir, 'acme-key.pem'),
      directoryUrl: raw.PORTCULLIS_ACME_DIRECTORY_URL,
      email: raw.PORTCULLIS_ACME_EMAIL,
      caFile: raw.PORTCULLIS_ACME_CA_FILE === undefined ? undefined : path.resolve(cwd, raw.PORTCULLIS_ACME_CA_FILE),
    };
  }
  if (!isProduction) return { mode: 'self-signed', certFile: path.join(tlsDir, 'cert.pem'), keyFile: path.join(tlsDir, 'key.pem') };
  if (raw.PORTCULLIS_TRUST_PROXY !== false) return { mode: 'proxy' };
  return {
    setting: 'PORTCULLIS_TLS_CERT',
    problem: 'production needs a certificate, and none is configured and no TLS-terminating proxy is trusted',
    fix: 'set PORTCULLIS_TLS_CERT and PORTCULLIS_TLS_KEY, or PORTCULLIS_ACME_DIRECTORY_URL, or PORTCULLIS_TRUST_PROXY to the proxy that terminates TLS',
  };
}

async function readMasterKey(raw: RawSettings, cwd: string): Promise<Buffer | undefined> {
  if (raw.PORTCULLIS_SECRET !== undefined) return Buffer.from(raw.PORTCULLIS_SECRET, 'utf8');
  if (raw.PORTCULLIS_SECRET_FILE !== undefined) {
    const contents = await readFile(path.resolve(cwd, raw.PORTCULLIS_SECRET_FILE), 'utf8');
    return Buffer.from(contents.trim(), 'utf8');
  }
  return undefined;
}

/** Development: a random master key kept in DATA_DIR/secret.key (mode 0600), reused on later starts. */
async function developmentMasterKey(dataDir: string): Promise<Buffer> {
  const keyFile = path.join(dataDir, 'secret.key');
  try {
    return Buffer.from((await readFile(keyFile, 'utf8')).trim(), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = randomBytes(32).toString('base64url');
  // 'wx' fails if another process created it in between; then we read theirs.
  try {
    await writeFile(keyFile, `${key}\n`, { mode: 0o600, flag: 'wx' });
    return Buffer.from(key, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return Buffer.from((await readFile(keyFile, 'utf8')).trim(), 'utf8');
  }
}

async function dataDirMode(dataDir: string): Promise<number | undefined> {
  try {
    return (await stat(dataDir)).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function ensureDataDir(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // mkdir's mode is masked by umask and ignored when the folder exists; set it for certain.
  const mode = await dataDirMode(dataDir);
  if (mode !== undefined && (mode & 0o077) !== 0 && mode !== 0o700) await chmod(dataDir, 0o700);
}

export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const euid = options.euid ?? process.geteuid?.() ?? -1;
  const raw = parseSettings(env);
  const isProduction = raw.NODE_ENV === 'production';
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  const refuseInProduction = (problem: ConfigProblem): void => {
    if (isProduction) problems.push(problem);
    else warnings.push(`${problem.setting}: ${problem.problem} (refused in production). Fix: ${problem.fix}.`);
  };

  const dataDir = path.resolve(cwd, raw.PORTCULLIS_DATA_DIR);
  const publicUrl = new URL(raw.PORTCULLIS_PUBLIC_URL);
  if (publicUrl.protocol !== 'https:') {
    refuseInProduction({
      setting: 'PORTCULLIS_PUBLIC_URL',
      problem: 'the public URL is not https',
      fix: 'use the https:// address users reach the service at',
    });
  }
  if (publicUrl.pathname !== '/' || publicUrl.search !== '' || publicUrl.hash !== '' || publicUrl.username !== '' || publicUrl.password !== '') {
    problems.push({
      setting: 'PORTCULLIS_PUBLIC_URL',
      problem: 'the public URL must be an origin only, without path, query, fragment or credentials',
      fix: 'use scheme://host[:port], for example https://accounts.example.com',
    });
  }

  const database = resolveDatabase(raw, dataDir, cwd);
  if ('problem' in database) problems.push(database);
  const tls = resolveTls(raw, dataDir, cwd, isProduction);
  if ('problem' in tls) problems.push(tls);
  else if (tls.mode === 'acme' && raw.PORTCULLIS_HTTP_PORT === null) {
    problems.push({
      setting: 'PORTCULLIS_HTTP_PORT',
      problem: 'ACME certificates are validated over plain HTTP (HTTP-01), and the HTTP listener is off',
      fix: 'set PORTCULLIS_HTTP_PORT to a port that port 80 reaches, or provide PORTCULLIS_TLS_CERT and PORTCULLIS_TLS_KEY',
    });
  }

  // Passkeys: the relying party comes from PUBLIC_URL; a setting browsers would refuse stops the start.
  const relyingParty = decideRelyingParty(publicUrl, raw.PORTCULLIS_WEBAUTHN_RP_ID);
  if (relyingParty.kind === 'error') problems.push(relyingParty.problem);
  // A plain-http public URL is already reported above; say it once.
  else if (relyingParty.kind === 'unavailable' && publicUrl.protocol === 'https:') refuseInProduction(relyingParty.problem);
  if (raw.PORTCULLIS_MFA_REQUIRED === 'none') {
    refuseInProduction({
      setting: 'PORTCULLIS_MFA_REQUIRED',
      problem: 'administrators could sign in with a password alone (ASVS 6.3.3 requires a second factor for them)',
      fix: 'use admin (the default) or all',
    });
  }
  // NIST 800-63B-4 §3.1.1.2: 15 characters when the password may be the only factor; 8 only when
  // every account must use a second factor.
  if (raw.PORTCULLIS_PASSWORD_MIN_LENGTH < 15 && raw.PORTCULLIS_MFA_REQUIRED !== 'all') {
    refuseInProduction({
      setting: 'PORTCULLIS_PASSWORD_MIN_LENGTH',
      problem: `passwords of ${raw.PORTCULLIS_PASSWORD_MIN_LENGTH} characters are allowed while some accounts can sign in with a password alone (NIST allows fewer than 15 only when MFA is always on)`,
      fix: 'use 15 or more, or set PORTCULLIS_MFA_REQUIRED=all',
    });
  }

  const cookieStack = stackRevealedBy(raw.PORTCULLIS_SESSION_COOKIE_NAME);
  if (cookieStack !== undefined) {
    problems.push({
      setting: 'PORTCULLIS_SESSION_COOKIE_NAME',
      problem: `this name is the default of ${cookieStack} and tells attackers what to target`,
      fix: 'choose a name that says nothing of the stack, or leave it unset',
    });
  }

  // In development, serve drops to "nobody" by itself and says so; production must name the user.
  if (euid === 0 && raw.PORTCULLIS_RUN_AS_USER === undefined && isProduction) {
    problems.push({
      setting: 'PORTCULLIS_RUN_AS_USER',
      problem: 'started as root without a user to drop to',
      fix: 'set PORTCULLIS_RUN_AS_USER to an unprivileged user (for example portcullis), or start as that user',
    });
  }

  // Trusted browsers keep an allowance of their own inside the account's cap, so the cap must leave
  // room for everyone else too.
  if (raw.PORTCULLIS_SIGN_IN_DEVICE_MAX_FAILURES * 2 > raw.PORTCULLIS_SIGN_IN_MAX_FAILURES) {
    problems.push({
      setting: 'PORTCULLIS_SIGN_IN_DEVICE_MAX_FAILURES',
      problem: `a trusted browser's allowance (${raw.PORTCULLIS_SIGN_IN_DEVICE_MAX_FAILURES}) must be at most half of PORTCULLIS_SIGN_IN_MAX_FAILURES (${raw.PORTCULLIS_SIGN_IN_MAX_FAILURES})`,
      fix: 'lower PORTCULLIS_SIGN_IN_DEVICE_MAX_FAILURES or raise PORTCULLIS_SIGN_IN_MAX_FAILURES (at most 100)',
    });
  }
  const delayMaxMs = raw.PORTCULLIS_SIGN_IN_DELAY_MAX_MINUTES * 60_000;
  if (raw.PORTCULLIS_SIGN_IN_DELAY_SECONDS * 1000 > delayMaxMs) {
    problems.push({
      setting: 'PORTCULLIS_SIGN_IN_DELAY_SECONDS',
      problem: 'the first delay is longer than PORTCULLIS_SIGN_IN_DELAY_MAX_MINUTES',
      fix: 'make the first delay shorter than the longest one',
    });
  }

  const existingMode = await dataDirMode(dataDir);
  if (isProduction && existingMode !== undefined && (existingMode & 0o077) !== 0) {
    problems.push({
      setting: 'PORTCULLIS_DATA_DIR',
      problem: `the data directory ${dataDir} is open to other users (mode ${existingMode.toString(8)})`,
      fix: `run chmod 700 ${dataDir}`,
    });
  }

  const monitoring = resolveMonitoring(raw, isProduction, problems, warnings);

  let masterKey = await readMasterKey(raw, cwd);
  if (masterKey !== undefined && masterKey.length < minimumMasterKeyBytes) {
    refuseInProduction({
      setting: raw.PORTCULLIS_SECRET === undefined ? 'PORTCULLIS_SECRET_FILE' : 'PORTCULLIS_SECRET',
      problem: `the master key is ${masterKey.length} bytes, shorter than ${minimumMasterKeyBytes}`,
      fix: 'generate one with: openssl rand -base64 48',
    });
  }
  if (masterKey === undefined && isProduction) {
    problems.push({
      setting: 'PORTCULLIS_SECRET',
      problem: 'no master key is set',
      fix: 'set PORTCULLIS_SECRET (or PORTCULLIS_SECRET_FILE) to at least 32 random bytes, for example from: openssl rand -base64 48',
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);

  await ensureDataDir(dataDir);
  masterKey ??= await developmentMasterKey(dataDir);

  const config: Config = {
    env: raw.NODE_ENV,
    isProduction,
    host: raw.PORTCULLIS_HOST,
    httpsPort: raw.PORTCULLIS_HTTPS_PORT,
    httpPort: raw.PORTCULLIS_HTTP_PORT,
    publicUrl,
    publicOrigin: publicUrl.origin,
    dataDir,
    database: database as DatabaseConfig,
    masterKey,
    tls: tls as TlsConfig,
    trustProxy: raw.PORTCULLIS_TRUST_PROXY,
    runAsUser: raw.PORTCULLIS_RUN_AS_USER,
    session: {
      cookieName: `${hostCookiePrefix}${raw.PORTCULLIS_SESSION_COOKIE_NAME}`,
      idleTimeoutMs: raw.PORTCULLIS_SESSION_IDLE_MINUTES * 60_000,
      absoluteTimeoutMs: raw.PORTCULLIS_SESSION_ABSOLUTE_HOURS * 3_600_000,
    },
    http: { bodyLimitBytes: raw.PORTCULLIS_BODY_LIMIT },
    hsts: { maxAgeSeconds: 63_072_000, preload: raw.PORTCULLIS_HSTS_PRELOAD },
    log: {
      level: raw.PORTCULLIS_LOG_LEVEL,
      pretty: (raw.PORTCULLIS_LOG_FORMAT ?? (!isProduction && process.stdout.isTTY ? 'pretty' : 'json')) === 'pretty',
    },
    shutdownTimeoutMs: raw.PORTCULLIS_SHUTDOWN_TIMEOUT_MS,
    siteName: raw.PORTCULLIS_SITE_NAME,
    passwords: {
      algorithm: raw.PORTCULLIS_PASSWORD_HASH,
      bcryptCost: raw.PORTCULLIS_BCRYPT_COST,
      argon2: { memoryKiB: 19_456, timeCost: 2, parallelism: 1 },
      minLength: raw.PORTCULLIS_PASSWORD_MIN_LENGTH,
      maxLength: 256,
      hibp: { enabled: raw.PORTCULLIS_HIBP, rangeUrl: raw.PORTCULLIS_HIBP_URL, timeoutMs: raw.PORTCULLIS_HIBP_TIMEOUT_MS },
    },
    mail: { smtpUrl: raw.PORTCULLIS_SMTP_URL, from: raw.PORTCULLIS_MAIL_FROM, outboxDir: path.join(dataDir, 'outbox') },
    accounts: { requireVerifiedEmail: raw.PORTCULLIS_REQUIRE_VERIFIED_EMAIL },
    mfa: { required: raw.PORTCULLIS_MFA_REQUIRED, webauthn: relyingParty.kind === 'ok' ? relyingParty.relyingParty : undefined },
    redis: raw.PORTCULLIS_REDIS_URL === undefined ? undefined : { url: raw.PORTCULLIS_REDIS_URL, prefix: raw.PORTCULLIS_REDIS_PREFIX },
    rateLimit: {
      windowMs: raw.PORTCULLIS_RATE_LIMIT_WINDOW_MINUTES * 60_000,
      generalMax: raw.PORTCULLIS_RATE_LIMIT_MAX,
      authMax: raw.PORTCULLIS_RATE_LIMIT_AUTH_MAX,
      emailMax: raw.PORTCULLIS_RATE_LIMIT_EMAIL_MAX,
    },
    bruteForce: {
      throttleAfter: raw.PORTCULLIS_SIGN_IN_THROTTLE_AFTER,
      baseDelayMs: raw.PORTCULLIS_SIGN_IN_DELAY_SECONDS * 1000,
      maxDelayMs: delayMaxMs,
      maxConsecutiveFailures: raw.PORTCULLIS_SIGN_IN_MAX_FAILURES,
      deviceMaxFailures: raw.PORTCULLIS_SIGN_IN_DEVICE_MAX_FAILURES,
      deviceWindowMs: 3_600_000,
      ipMaxFailures: raw.PORTCULLIS_SIGN_IN_IP_MAX_FAILURES,
      ipWindowMs: 3_600_000,
    },
    monitoring,
  };
  return { config: deepFreeze(config), warnings };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value) && !(value instanceof URL)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
