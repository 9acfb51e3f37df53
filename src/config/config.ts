// src/config/config.ts
// The validated, frozen configuration every component receives. Nothing reads process.env after this.

export type Environment = 'development' | 'production' | 'test';

export type DatabaseConfig =
  | { readonly kind: 'sqlite'; readonly filename: string }
  /** PostgreSQL for several instances sharing state; the URL may carry credentials, so it is never logged. */
  | {
      readonly kind: 'postgres';
      readonly url: string;
      readonly poolSize: number;
      /** Run the hot fixed queries as named statements (storage/postgres-named-statements.ts); off behind PgBouncer's transaction mode before 1.21. */
      readonly preparedStatements: boolean;
    };

export type TlsConfig =
  /** Certificate and key files given by the operator. */
  | { readonly mode: 'files'; readonly certFile: string; readonly keyFile: string }
  /** Development only: a self-signed certificate made on first start and kept in DATA_DIR/tls. */
  | { readonly mode: 'self-signed'; readonly certFile: string; readonly keyFile: string }
  /** Certificates from an ACME CA (Let's Encrypt), kept in DATA_DIR/tls. */
  | {
      readonly mode: 'acme';
      readonly certFile: string;
      readonly keyFile: string;
      readonly directoryUrl: string;
      readonly email: string | undefined;
      readonly caFile: string | undefined;
    }
  /** TLS ends at a trusted proxy; Portcullis listens on plain HTTP and believes X-Forwarded-Proto from it only. */
  | { readonly mode: 'proxy' };

export interface Config {
  readonly env: Environment;
  readonly isProduction: boolean;
  readonly host: string;
  readonly httpsPort: number;
  /** The redirect-only plain HTTP listener; null when off. */
  readonly httpPort: number | null;
  readonly publicUrl: URL;
  /** scheme://host[:port] of publicUrl, as browsers send it in Origin. */
  readonly publicOrigin: string;
  readonly dataDir: string;
  readonly database: DatabaseConfig;
  /** The master key; every other key is derived from it with HKDF (security/keys.ts). */
  readonly masterKey: Buffer;
  readonly tls: TlsConfig;
  readonly trustProxy: false | number | readonly string[];
  readonly runAsUser: string | undefined;
  readonly session: {
    /** The full cookie name, always __Host- prefixed. */
    readonly cookieName: string;
    readonly idleTimeoutMs: number;
    readonly absoluteTimeoutMs: number;
  };
  readonly http: { readonly bodyLimitBytes: number };
  readonly hsts: { readonly maxAgeSeconds: number; readonly preload: boolean };
  readonly log: { readonly level: string; readonly pretty: boolean };
  readonly shutdownTimeoutMs: number;
  readonly siteName: string;
  readonly mfa: MfaConfig;
  readonly passwords: PasswordConfig;
  readonly mail: MailConfig;
  readonly accounts: {
    /** When on (the default), the web layer shows unverified accounts only the verification page. */
    readonly requireVerifiedEmail: boolean;
  };
  /** Shared state for several instances; undefined keeps sessions and counters in the database. */
  readonly redis: RedisConfig | undefined;
  readonly rateLimit: RateLimitConfig;
  readonly bruteForce: BruteForceConfig;
  readonly monitoring: MonitoringConfig;
}

/** Metrics, audit retention and alerts (issue 6, docs/monitoring.md). */
export interface MonitoringConfig {
  /** Where Prometheus scrapes /metrics; null when off. Never the public listener. */
  readonly metrics: { readonly host: string; readonly port: number } | null;
  /** Audit events older than this are pruned by moving the chain's anchor; null keeps everything. */
  readonly auditRetentionDays: number | null;
  /** The alert webhook; undefined when not configured. */
  readonly alerts: AlertConfig | undefined;
}

export interface AlertConfig {
  readonly webhookUrl: string;
  /** HMAC-SHA-256 key for the signature header; never sent, never logged. */
  readonly secret: string | undefined;
  /** Failed sign-ins and second factors per minute that raise an alert (default 60). */
  readonly failuresPerMinute: number;
  /** Accounts newly throttled within 15 minutes that raise an alert (default 5). */
  readonly throttledAccounts: number;
}

export interface RedisConfig {
  /** redis:// or rediss:// URL; may carry a password, so it is never logged. */
  readonly url: string;
  /** Prepended to every key this deployment writes. */
  readonly prefix: string;
}

/** express-rate-limit's fixed windows (security/rate-limit.ts). */
export interface RateLimitConfig {
  readonly windowMs: number;
  /** Requests per client address per window on every route (static assets and health checks exempt). */
  readonly generalMax: number;
  /** State-changing requests per client address per window on the authentication routes. */
  readonly authMax: number;
  /** Sign-ups and reset requests per target email address per window. */
  readonly emailMax: number;
}

/** Per-account, per-device and per-address sign-in throttling (security/brute-force.ts). */
export interface BruteForceConfig {
  /** Consecutive failures before the first delay (default 5). */
  readonly throttleAfter: number;
  /** The first delay, doubled for each further failure (default 1 minute). */
  readonly baseDelayMs: number;
  /** The longest delay (default 1 hour). */
  readonly maxDelayMs: number;
  /** Consecutive failures evaluated per account before a success or an emailed unlock; at most 100 (NIST). */
  readonly maxConsecutiveFailures: number;
  /** Failures a browser with a device cookie may make per deviceWindowMs before it counts as unknown. */
  readonly deviceMaxFailures: number;
  readonly deviceWindowMs: number;
  /** Failures per client address per ipWindowMs across all accounts (credential stuffing). */
  readonly ipMaxFailures: number;
  readonly ipWindowMs: number;
}

export interface PasswordConfig {
  /** The algorithm new hashes are made with; stored hashes of the other kind upgrade at sign-in. */
  readonly algorithm: 'bcrypt' | 'argon2id';
  /** bcrypt work factor (log2 rounds), 10 to 16; default 12. */
  readonly bcryptCost: number;
  /** Argon2id parameters; OWASP's m=19 MiB, t=2, p=1. */
  readonly argon2: { readonly memoryKiB: number; readonly timeCost: number; readonly parallelism: number };
  /** Minimum length in Unicode code points; default 15, never below 8. */
  readonly minLength: number;
  /** Maximum length in code points: long enough for any passphrase, short enough to bound the work. */
  readonly maxLength: number;
  readonly hibp: {
    readonly enabled: boolean;
    /** The range API's base URL; `${rangeUrl}${first five hex digits of the SHA-1}`. */
    readonly rangeUrl: string;
    readonly timeoutMs: number;
  };
}

export interface MailConfig {
  /** smtp:// or smtps:// URL; undefined writes messages to outboxDir instead (development). */
  readonly smtpUrl: string | undefined;
  readonly from: string;
  /** DATA_DIR/outbox: where .eml files go when no SMTP server is configured. */
  readonly outboxDir: string;
}

/** Who must use a second factor: administrators (the default), everyone, or nobody. */
export type MfaRequirement = 'admin' | 'all' | 'none';

/** Multi-factor authentication (issue 4). */
export interface MfaConfig {
  /** PORTCULLIS_MFA_REQUIRED: such users are taken to enrolment after sign-in and can do nothing else until done. */
  readonly required: MfaRequirement;
  /** Passkeys' relying party from PUBLIC_URL; undefined when the address cannot have one (an IP host). */
  readonly webauthn: { readonly rpId: string; readonly origin: string } | undefined;
}
