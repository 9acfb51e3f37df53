// src/observability/security-signals.ts
// One vocabulary for what the monitoring counts: audit events become security signals here, and
// the Prometheus counters, the hourly rollups behind the dashboard and the alerts all read them.
// Every label value comes from a fixed list, so no request can grow the number of series.

import { isIP } from 'node:net';
import type { AuditDetail } from '../accounts/types.js';

export type SignInOutcome = 'success' | 'failure' | 'throttled';
export type MfaFactor = 'totp' | 'recovery_code' | 'passkey' | 'unknown';
export type PasswordResetStage = 'requested' | 'completed' | 'failed';

/** The CSRF refusal reasons security/csrf.ts reports; anything else is counted as "other". */
export const csrfReasons = ['content-type', 'foreign-origin', 'cross-site-fetch', 'no-origin', 'missing-token', 'token-mismatch'] as const;

/** A signal as stored in the rollup: a metric and one bounded label. */
export type SecuritySignal =
  | { readonly metric: 'sign_in'; readonly label: SignInOutcome }
  | { readonly metric: 'lockout_email'; readonly label: 'sent' }
  | { readonly metric: 'mfa_failure'; readonly label: MfaFactor }
  | { readonly metric: 'rate_limited'; readonly label: string }
  | { readonly metric: 'password_reset'; readonly label: PasswordResetStage }
  | { readonly metric: 'csrf_refused'; readonly label: string }
  | { readonly metric: 'csp_report'; readonly label: string };

export type SignalMetric = SecuritySignal['metric'];

/** The brute-force module's refusal reasons (security/brute-force.ts): a refused, unevaluated attempt. */
const throttleReasons: ReadonlySet<string> = new Set(['account_throttled', 'account_locked', 'address_throttled', 'throttled']);

/** What the classifier needs of an audit event. */
export interface ClassifiableEvent {
  readonly type: string;
  readonly outcome: 'success' | 'failure';
  readonly detail: AuditDetail | null;
}

function factorOf(detail: AuditDetail | null): MfaFactor {
  const method = detail?.method;
  return method === 'totp' || method === 'recovery_code' || method === 'passkey' ? method : 'unknown';
}

/**
 * The signals an audit event stands for (usually none or one). These event types are counted from
 * the trail, so code that audits them must not also call the metrics API for them:
 *   sign_in                  success | failure, or throttled when detail.reason is a throttle refusal
 *   passkey_sign_in          the same outcomes (passwordless sign-in)
 *   sign_in_throttled        a throttling episode began and its owner was emailed (lockout email)
 *   second_factor failure    an MFA failure, by detail.method (totp, recovery_code, passkey)
 *   password_reset_requested / password_reset_completed
 *   csrf_rejected            by detail.reason
 */
export function signalsOf(event: ClassifiableEvent): SecuritySignal[] {
  const reason = typeof event.detail?.reason === 'string' ? event.detail.reason : undefined;
  switch (event.type) {
    case 'sign_in':
    case 'passkey_sign_in':
      if (event.outcome === 'success') return [{ metric: 'sign_in', label: 'success' }];
      return [{ metric: 'sign_in', label: reason !== undefined && throttleReasons.has(reason) ? 'throttled' : 'failure' }];
    case 'sign_in_throttled':
      return [{ metric: 'lockout_email', label: 'sent' }];
    case 'second_factor':
      return event.outcome === 'failure' ? [{ metric: 'mfa_failure', label: factorOf(event.detail) }] : [];
    case 'password_reset_requested':
      return [{ metric: 'password_reset', label: 'requested' }];
    case 'password_reset_completed':
      return [{ metric: 'password_reset', label: event.outcome === 'success' ? 'completed' : 'failed' }];
    case 'csrf_rejected':
      return [{ metric: 'csrf_refused', label: reason !== undefined && (csrfReasons as readonly string[]).includes(reason) ? reason : 'other' }];
    default:
      return [];
  }
}

/** True for the signals that count as a failed attempt to authenticate (for sources and alerts). */
export function isAuthenticationFailure(signal: SecuritySignal): boolean {
  return (signal.metric === 'sign_in' && signal.label !== 'success') || signal.metric === 'mfa_failure';
}

/** Limiter names come from code, but are still held to a short safe alphabet before becoming labels. */
export function limiterLabel(name: string): string {
  return /^[a-z][a-z0-9_-]{0,31}$/i.test(name) ? name.toLowerCase() : 'other';
}

/** The CSP directives a report can name; anything else is "other". */
export const knownCspDirectives: ReadonlySet<string> = new Set([
  'default-src',
  'script-src',
  'script-src-elem',
  'script-src-attr',
  'style-src',
  'style-src-elem',
  'style-src-attr',
  'img-src',
  'font-src',
  'connect-src',
  'manifest-src',
  'media-src',
  'object-src',
  'frame-src',
  'child-src',
  'worker-src',
  'form-action',
  'frame-ancestors',
  'base-uri',
  'require-trusted-types-for',
  'trusted-types',
]);

export function cspDirectiveLabel(directive: string): string {
  const name = directive.trim().toLowerCase().split(/\s+/, 1)[0] ?? '';
  return knownCspDirectives.has(name) ? name : 'other';
}

/** The hour an instant falls in, as the hour's first millisecond (UTC). */
export function hourOf(at: number): number {
  return Math.floor(at / 3_600_000) * 3_600_000;
}

/**
 * The network an address belongs to, for "top sources": IPv4 truncated to /24 and IPv6 to /48,
 * so the dashboard shows where attacks come from without naming a person's address.
 */
export function networkOf(address: string | null | undefined): string | undefined {
  if (address === null || address === undefined) return undefined;
  let ip = address.trim();
  // IPv4-mapped IPv6 (::ffff:192.0.2.1), as Node reports IPv4 clients on a dual-stack socket.
  if (ip.toLowerCase().startsWith('::ffff:') && isIP(ip.slice(7)) === 4) ip = ip.slice(7);
  const family = isIP(ip);
  if (family === 4) {
    const parts = ip.split('.');
    return `${parts.slice(0, 3).join('.')}.0/24`;
  }
  if (family === 6) {
    const groups = expandIpv6(ip);
    if (groups === undefined) return undefined;
    return `${groups.slice(0, 3).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/48`;
  }
  return undefined;
}

/** The eight groups of an IPv6 address (without a zone), or undefined. */
function expandIpv6(address: string): string[] | undefined {
  const bare = address.split('%', 1)[0] ?? '';
  const halves = bare.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === undefined || halves[0] === '' ? [] : halves[0].split(':');
  const tail = halves.length === 2 && halves[1] !== undefined && halves[1] !== '' ? halves[1].split(':') : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4 forms) counts as two groups; only the first three matter here.
  const groups = [...head, ...(halves.length === 2 ? Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0') : []), ...tail];
  return groups.length >= 3 ? groups.map((group) => group.toLowerCase()) : undefined;
}
