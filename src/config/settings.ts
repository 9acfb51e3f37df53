// src/config/settings.ts
// The environment variables Portcullis reads, their defaults and their rules, as one zod schema.
// README's configuration table mirrors this file; change both together.

import { isIP } from 'node:net';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65_535);

/** Named ranges that proxy-addr (Express's trust proxy) understands. */
const namedProxyRanges = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isCidrOrAddress(entry: string): boolean {
  if (namedProxyRanges.has(entry)) return true;
  const [address, bits, ...rest] = entry.split('/');
  if (address === undefined || rest.length > 0) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * PORTCULLIS_TRUST_PROXY: unset or "off" (trust nobody), a hop count ("1"), or a comma-separated
 * list of addresses and CIDR ranges. "true" (trust every hop) is refused: with it any client can
 * forge X-Forwarded-For and choose its own address, which defeats rate limiting and audit logs.
 */
const trustProxy = z
  .string()
  .trim()
  .transform((value, ctx): false | number | string[] => {
    if (value === '' || value === 'off' || value === 'false') return false;
    if (value === 'true') {
      ctx.addIssue({
        code: 'custom',
        message: '"true" would let any client choose its own address through X-Forwarded-For',
      });
      return z.NEVER;
    }
    if (/^\d+$/.test(value)) {
      const hops = Number(value);
      if (hops < 1 || hops > 10) {
        ctx.addIssue({ code: 'custom', message: 'a hop count must be between 1 and 10' });
        return z.NEVER;
      }
      return hops;
    }
    const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
    const invalid = entries.filter((entry) => !isCidrOrAddress(entry));
    if (invalid.length > 0 || entries.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected a hop count or a comma-separated list of IP addresses or CIDR ranges (for example 10.0.0.0/8,127.0.0.1)',
      });
      return z.NEVER;
    }
    return entries;
  });

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((value) => ['true', '1', 'yes', 'on'].includes(value));

const sizeInBytes = z
  .string()
  .trim()
  .regex(/^\d+(b|kb|mb)?$/i, 'expected a size such as 16kb or 1mb')
  .transform((value) => {
    const match = /^(\d+)(b|kb|mb)?$/i.exec(value);
    const amount = Number(match?.[1] ?? '0');
    const unit = (match?.[2] ?? 'b').toLowerCase();
    return amount * (unit === 'mb' ? 1024 * 1024 : unit === 'kb' ? 1024 : 1);
  })
  .pipe(z.number().int().min(1024).max(10 * 1024 * 1024));

export const settingsSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORTCULLIS_HOST: z.string().trim().min(1).default('127.0.0.1'),
  PORTCULLIS_HTTPS_PORT: port.default(8443),
  PORTCULLIS_HTTP_PORT: z
    .union([z.literal('off'), port])
    .default(8080)
    .transform((value) => (value === 'off' ? null : value)),
  PORTCULLIS_PUBLIC_URL: z.url({ protocol: /^https?$/ }).default('https://localhost:8443'),
  PORTCULLIS_DATA_DIR: z.string().trim().min(1).default('./data'),
  PORTCULLIS_DATABASE_URL: z.string().trim().min(1).optional(),
  /** PostgreSQL only: the hot fixed queries as named statements (storage/postgres-named-statements.ts). */
  PORTCULLIS_DATABASE_PREPARED_STATEMENTS: booleanFlag.default(true),
  PORTCULLIS_SECRET: z.string().optional(),
  PORTCULLIS_SECRET_FILE: z.string().trim().min(1).optional(),
  PORTCULLIS_TLS_CERT: z.string().trim().min(1).optional(),
  PORTCULLIS_TLS_KEY: z.string().trim().min(1).optional(),
  PORTCULLIS_TRUST_PROXY: trustProxy.default(false),
  PORTCULLIS_RUN_AS_USER: z.string().trim().regex(/^[a-z_][a-z0-9_-]{0,31}$|^\d+$/, 'expected a user name or a numeric uid').optional(),
  PORTCULLIS_SESSION_COOKIE_NAME: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{1,32}$/, 'expected 1 to 32 letters, digits, "-" or "_"')
    .default('id'),
  PORTCULLIS_SESSION_IDLE_MINUTES: z.coerce.number().int().min(1).max(60).default(30),
  PORTCULLIS_SESSION_ABSOLUTE_HOURS: z.coerce.number().int().min(1).max(24).default(12),
  PORTCULLIS_BODY_LIMIT: sizeInBytes.default(16 * 1024),
  PORTCULLIS_HSTS_PRELOAD: booleanFlag.default(false),
  PORTCULLIS_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PORTCULLIS_LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  PORTCULLIS_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  PORTCULLIS_SITE_NAME: z.string().trim().min(1).max(60).default('Portcullis'),
  PORTCULLIS_ACME_DIRECTORY_URL: z.url({ protocol: /^https$/ }).optional(),
  PORTCULLIS_ACME_EMAIL: z.email().optional(),
  PORTCULLIS_ACME_CA_FILE: z.string().trim().min(1).optional(),
  // Accounts (issue 3). Passwords: OWASP's bcrypt floor is cost 10; 12 is the usual production value.
  PORTCULLIS_PASSWORD_HASH: z.enum(['bcrypt', 'argon2id']).default('bcrypt'),
  PORTCULLIS_BCRYPT_COST: z.coerce.number().int().min(10).max(16).default(12),
  // NIST 800-63B-4: 15 when the password is the only factor; 8 is the floor only with MFA always on.
  PORTCULLIS_PASSWORD_MIN_LENGTH: z.coerce.number().int().min(8).max(64).default(15),
  PORTCULLIS_HIBP: booleanFlag.default(false),
  /** The k-anonymity range endpoint; the first five hex digits of the SHA-1 are appended. */
  PORTCULLIS_HIBP_URL: z.url({ protocol: /^https?$/ }).default('https://api.pwnedpasswords.com/range/'),
  PORTCULLIS_HIBP_TIMEOUT_MS: z.coerce.number().int().min(100).max(10_000).default(2_000),
  PORTCULLIS_SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  PORTCULLIS_MAIL_FROM: z.string().trim().min(3).max(200).default('Portcullis <no-reply@localhost>'),
  PORTCULLIS_REQUIRE_VERIFIED_EMAIL: booleanFlag.default(true),
  // Multi-factor authentication (issue 4). ASVS 6.3.3: required for administrators at least.
  /** admin (default), all or none: who must set up a second factor before doing anything else. */
  PORTCULLIS_MFA_REQUIRED: z.enum(['admin', 'all', 'none']).default('admin'),
  /** The passkeys' relying party id; default PUBLIC_URL's host. Only that host or a parent domain of it. */
  PORTCULLIS_WEBAUTHN_RP_ID: z.string().trim().min(1).max(253).optional(),
  // Rate limits, brute-force throttling and shared state for several instances (issue 5).
  /** Sessions, rate-limit counters and sign-in throttling in Redis; unset keeps them in the database. */
  PORTCULLIS_REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** Prepended to every Redis key, so several deployments (or test servers) can share one Redis. */
  PORTCULLIS_REDIS_PREFIX: z.string().trim().regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'expected 1 to 64 letters, digits, ":", "_", "." or "-"').default('portcullis:'),
  PORTCULLIS_RATE_LIMIT_WINDOW_MINUTES: z.coerce.number().int().min(1).max(1440).default(15),
  /** Requests per client address per window, on every route but static assets and health checks. */
  PORTCULLIS_RATE_LIMIT_MAX: z.coerce.number().int().min(10).max(1_000_000).default(300),
  /** Posts per client address per window to sign-in, sign-up, password reset, MFA and the API's auth routes. */
  PORTCULLIS_RATE_LIMIT_AUTH_MAX: z.coerce.number().int().min(1).max(1_000_000).default(20),
  /** Sign-ups and reset requests per target email address per window. */
  PORTCULLIS_RATE_LIMIT_EMAIL_MAX: z.coerce.number().int().min(1).max(1_000_000).default(5),
  /** Consecutive failures on one account before delays start. */
  PORTCULLIS_SIGN_IN_THROTTLE_AFTER: z.coerce.number().int().min(1).max(20).default(5),
  /** The first delay; each further failure doubles it up to PORTCULLIS_SIGN_IN_DELAY_MAX_MINUTES. */
  PORTCULLIS_SIGN_IN_DELAY_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  PORTCULLIS_SIGN_IN_DELAY_MAX_MINUTES: z.coerce.number().int().min(1).max(1440).default(60),
  // NIST 800-63B-4: at most 100 consecutive failed attempts per account.
  PORTCULLIS_SIGN_IN_MAX_FAILURES: z.coerce.number().int().min(10).max(100).default(100),
  /** Failed sign-ins per client address per hour, across all accounts (credential stuffing). */
  PORTCULLIS_SIGN_IN_IP_MAX_FAILURES: z.coerce.number().int().min(5).max(100_000).default(30),
  /** Failures a trusted browser (device cookie) may make per hour before it is treated as unknown. */
  PORTCULLIS_SIGN_IN_DEVICE_MAX_FAILURES: z.coerce.number().int().min(1).max(50).default(10),
  // Monitoring (issue 6): docs/monitoring.md.
  /** The Prometheus listener, HOST:PORT or "off"; unset: 127.0.0.1:9464 (off when NODE_ENV=test). */
  PORTCULLIS_METRICS_ADDR: z.string().trim().min(1).max(300).optional(),
  /** Audit events older than this many days are pruned (the chain's anchor moves); "off" keeps all. */
  PORTCULLIS_AUDIT_RETENTION_DAYS: z.union([z.literal('off'), z.coerce.number().int().min(1).max(36_500)]).default(365),
  /** One signed JSON POST here when failures or throttled accounts pass their thresholds. */
  PORTCULLIS_ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Signs each alert: X-Portcullis-Signature: t=<unix seconds>,v1=HMAC-SHA-256(secret, "<t>.<body>"). */
  PORTCULLIS_ALERT_WEBHOOK_SECRET: z.string().min(16).max(512).optional(),
  /** Failed sign-ins and second factors in one minute, across all accounts, that raise an alert. */
  PORTCULLIS_ALERT_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(60),
  /** Accounts newly throttled within 15 minutes that raise an alert. */
  PORTCULLIS_ALERT_THROTTLED_ACCOUNTS: z.coerce.number().int().min(1).max(1_000_000).default(5),
});

export type RawSettings = z.infer<typeof settingsSchema>;

/** Only the variables we know are read; anything else in the environment is ignored. */
export const settingNames = Object.keys(settingsSchema.shape) as (keyof RawSettings)[];
