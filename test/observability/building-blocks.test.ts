// test/observability/building-blocks.test.ts
// The small pieces the monitoring is built from, one behaviour each: how audit events become
// security signals, how addresses become networks, the typed metrics API, the limiter read from
// a 429's headers, when tracing turns on, and the monitoring settings' validation.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/config-error.js';
import { parseMetricsAddress } from '../../src/config/monitoring.js';
import { parseSince } from '../../src/cli/audit.js';
import { signAlert } from '../../src/observability/alerts.js';
import { createMetrics, refusingLimiter } from '../../src/observability/metrics.js';
import { cspDirectiveLabel, hourOf, limiterLabel, networkOf, signalsOf } from '../../src/observability/security-signals.js';
import { tracingRequested } from '../../src/observability/tracing.js';
import { niceCeiling } from '../../src/web/pages/svg-charts.js';
import { parseMetrics, valueOf } from './support.js';

describe('security signals from audit events', () => {
  it('counts a sign-in by outcome, and a refusal by the throttle as throttled', () => {
    assert.deepEqual(signalsOf({ type: 'sign_in', outcome: 'success', detail: null }), [{ metric: 'sign_in', label: 'success' }]);
    assert.deepEqual(signalsOf({ type: 'sign_in', outcome: 'failure', detail: { reason: 'wrong_password' } }), [{ metric: 'sign_in', label: 'failure' }]);
    for (const reason of ['account_throttled', 'account_locked', 'address_throttled']) {
      assert.deepEqual(signalsOf({ type: 'sign_in', outcome: 'failure', detail: { reason } }), [{ metric: 'sign_in', label: 'throttled' }]);
    }
    assert.deepEqual(signalsOf({ type: 'passkey_sign_in', outcome: 'failure', detail: { reason: 'unknown_passkey' } }), [{ metric: 'sign_in', label: 'failure' }]);
  });

  it('counts the start of a throttling episode as the lockout email it sends', () => {
    assert.deepEqual(signalsOf({ type: 'sign_in_throttled', outcome: 'failure', detail: { failures: 5 } }), [{ metric: 'lockout_email', label: 'sent' }]);
  });

  it('counts failed second factors by factor, and nothing for a success', () => {
    assert.deepEqual(signalsOf({ type: 'second_factor', outcome: 'failure', detail: { method: 'totp' } }), [{ metric: 'mfa_failure', label: 'totp' }]);
    assert.deepEqual(signalsOf({ type: 'second_factor', outcome: 'failure', detail: { method: 'recovery_code' } }), [{ metric: 'mfa_failure', label: 'recovery_code' }]);
    assert.deepEqual(signalsOf({ type: 'second_factor', outcome: 'failure', detail: { method: 'passkey' } }), [{ metric: 'mfa_failure', label: 'passkey' }]);
    assert.deepEqual(signalsOf({ type: 'second_factor', outcome: 'failure', detail: { method: 'carrier-pigeon' } }), [{ metric: 'mfa_failure', label: 'unknown' }]);
    assert.deepEqual(signalsOf({ type: 'second_factor', outcome: 'success', detail: { method: 'totp' } }), []);
  });

  it('counts password resets and CSRF refusals, keeping labels to known values', () => {
    assert.deepEqual(signalsOf({ type: 'password_reset_requested', outcome: 'success', detail: null }), [{ metric: 'password_reset', label: 'requested' }]);
    assert.deepEqual(signalsOf({ type: 'password_reset_completed', outcome: 'failure', detail: null }), [{ metric: 'password_reset', label: 'failed' }]);
    assert.deepEqual(signalsOf({ type: 'csrf_rejected', outcome: 'failure', detail: { reason: 'token-mismatch' } }), [{ metric: 'csrf_refused', label: 'token-mismatch' }]);
    assert.deepEqual(signalsOf({ type: 'csrf_rejected', outcome: 'failure', detail: { reason: 'anything <script>' } }), [{ metric: 'csrf_refused', label: 'other' }]);
    assert.deepEqual(signalsOf({ type: 'profile_updated', outcome: 'success', detail: null }), []);
  });

  it('truncates IPv4 addresses to /24 and IPv6 to /48, mapped IPv4 included', () => {
    assert.equal(networkOf('203.0.113.77'), '203.0.113.0/24');
    assert.equal(networkOf('::ffff:198.51.100.9'), '198.51.100.0/24');
    assert.equal(networkOf('2001:db8:abcd:12::1'), '2001:db8:abcd::/48');
    assert.equal(networkOf('2001:0db8:0000:0000:0000:0000:0000:0001'), '2001:db8:0::/48');
    assert.equal(networkOf('::1'), '0:0:0::/48');
    assert.equal(networkOf('fe80::1%eth0'), 'fe80:0:0::/48');
    for (const bad of ['', 'localhost', '999.1.1.1', null, undefined]) assert.equal(networkOf(bad), undefined);
  });

  it('keeps limiter and directive labels to a safe, bounded vocabulary', () => {
    assert.equal(limiterLabel('auth'), 'auth');
    assert.equal(limiterLabel('csp_reports'), 'csp_reports');
    assert.equal(limiterLabel('x'.repeat(40)), 'other');
    assert.equal(limiterLabel('a"b'), 'other');
    assert.equal(cspDirectiveLabel('script-src-elem'), 'script-src-elem');
    assert.equal(cspDirectiveLabel("script-src 'self'"), 'script-src');
    assert.equal(cspDirectiveLabel('made-up-directive'), 'other');
  });

  it('buckets times into UTC hours', () => {
    assert.equal(hourOf(Date.UTC(2026, 0, 1, 13, 59, 59, 999)), Date.UTC(2026, 0, 1, 13));
  });
});

describe('the metrics API', () => {
  it('moves each security counter through its typed method, labels bounded', async () => {
    const metrics = createMetrics({ activeSessions: () => Promise.resolve(7) });
    metrics.security.signIn('failure');
    metrics.security.signIn('throttled');
    metrics.security.lockoutEmail();
    metrics.security.mfaFailure('passkey');
    metrics.security.rateLimited('auth');
    metrics.security.rateLimited('weird name with spaces');
    metrics.security.passwordReset('requested');
    metrics.security.csrfRefused('no-origin');
    metrics.security.cspReport('img-src');
    const samples = parseMetrics(await metrics.registry.metrics());
    assert.equal(valueOf(samples, 'portcullis_sign_ins_total', { outcome: 'failure' }), 1);
    assert.equal(valueOf(samples, 'portcullis_sign_ins_total', { outcome: 'throttled' }), 1);
    assert.equal(valueOf(samples, 'portcullis_lockout_emails_total'), 1);
    assert.equal(valueOf(samples, 'portcullis_mfa_failures_total', { factor: 'passkey' }), 1);
    assert.equal(valueOf(samples, 'portcullis_rate_limited_requests_total', { limiter: 'auth' }), 1);
    assert.equal(valueOf(samples, 'portcullis_rate_limited_requests_total', { limiter: 'other' }), 1);
    assert.equal(valueOf(samples, 'portcullis_password_resets_total', { stage: 'requested' }), 1);
    assert.equal(valueOf(samples, 'portcullis_csrf_refusals_total', { reason: 'no-origin' }), 1);
    assert.equal(valueOf(samples, 'portcullis_csp_reports_total', { directive: 'img-src' }), 1);
    assert.equal(valueOf(samples, 'portcullis_active_sessions'), 7);
  });

  it('reads the refusing limiter from draft-8 RateLimit headers', () => {
    assert.equal(refusingLimiter(['"general"; r=250; t=600', '"auth"; r=0; t=600']), 'auth');
    assert.equal(refusingLimiter('"general"; r=0; t=60'), 'general');
    assert.equal(refusingLimiter('"general"; r=10; t=60'), undefined);
    assert.equal(refusingLimiter(undefined), undefined);
  });
});

describe('tracing switch', () => {
  it('turns on only with an OTLP endpoint, and stays off when the SDK or the exporter is disabled', () => {
    assert.equal(tracingRequested({}), false);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }), false);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), true);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }), true);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }), false);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' }), false);
  });
});

describe('monitoring settings', () => {
  async function load(env: Record<string, string>) {
    const folder = await mkdtemp(path.join(tmpdir(), 'portcullis-monitoring-config-'));
    try {
      return await loadConfig({ env: { PORTCULLIS_DATA_DIR: folder, PORTCULLIS_SECRET: 'monitoring-settings-test-key-0123456789abcdef', ...env }, cwd: folder, euid: 1000 });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }

  it('parses the metrics address, and defaults to loopback port 9464 (off under NODE_ENV=test)', async () => {
    assert.deepEqual(parseMetricsAddress('127.0.0.1:9100'), { host: '127.0.0.1', port: 9100 });
    assert.deepEqual(parseMetricsAddress('[::1]:9464'), { host: '::1', port: 9464 });
    assert.deepEqual(parseMetricsAddress('9464'), { host: '127.0.0.1', port: 9464 });
    assert.equal(parseMetricsAddress('off'), null);
    for (const bad of ['127.0.0.1', 'host:99999', '[not-v6]:1', 'a b:1']) assert.equal(parseMetricsAddress(bad), undefined, bad);
    assert.deepEqual((await load({ NODE_ENV: 'development' })).config.monitoring.metrics, { host: '127.0.0.1', port: 9464 });
    assert.equal((await load({ NODE_ENV: 'test' })).config.monitoring.metrics, null);
    assert.equal((await load({ NODE_ENV: 'development', PORTCULLIS_METRICS_ADDR: 'off' })).config.monitoring.metrics, null);
  });

  it('refuses a metrics address that does not parse, naming the setting and the fix', async () => {
    await assert.rejects(load({ PORTCULLIS_METRICS_ADDR: 'everywhere' }), (error: unknown) => error instanceof ConfigError && /PORTCULLIS_METRICS_ADDR/.test(error.message) && /HOST:PORT/.test(error.message));
  });

  it('keeps audit events 365 days by default, or as configured, or forever with "off"', async () => {
    assert.equal((await load({})).config.monitoring.auditRetentionDays, 365);
    assert.equal((await load({ PORTCULLIS_AUDIT_RETENTION_DAYS: '30' })).config.monitoring.auditRetentionDays, 30);
    assert.equal((await load({ PORTCULLIS_AUDIT_RETENTION_DAYS: 'off' })).config.monitoring.auditRetentionDays, null);
    await assert.rejects(load({ PORTCULLIS_AUDIT_RETENTION_DAYS: '0' }), ConfigError);
  });

  it('refuses an alert webhook over plain HTTP to another host in production, and one with credentials', async () => {
    const production = { NODE_ENV: 'production', PORTCULLIS_PUBLIC_URL: 'https://accounts.example.com' };
    await assert.rejects(load({ ...production, PORTCULLIS_ALERT_WEBHOOK_URL: 'http://alerts.example.com/hook' }), (error: unknown) => error instanceof ConfigError && /PORTCULLIS_ALERT_WEBHOOK_URL/.test(error.message));
    await assert.rejects(load({ PORTCULLIS_ALERT_WEBHOOK_URL: 'https://user:pass@alerts.example.com/hook' }), ConfigError);
    const loopback = await load({ PORTCULLIS_ALERT_WEBHOOK_URL: 'http://127.0.0.1:9000/hook', PORTCULLIS_ALERT_WEBHOOK_SECRET: 'a-secret-of-sixteen-or-more' });
    assert.equal(loopback.config.monitoring.alerts?.webhookUrl, 'http://127.0.0.1:9000/hook');
    assert.equal(loopback.config.monitoring.alerts.failuresPerMinute, 60);
    await assert.rejects(load({ PORTCULLIS_ALERT_WEBHOOK_URL: 'https://alerts.example.com/hook', PORTCULLIS_ALERT_WEBHOOK_SECRET: 'short' }), ConfigError);
  });

  it('signs alerts as t=<seconds>,v1=<HMAC-SHA-256 of "t.body">', () => {
    assert.equal(signAlert('key', 1_700_000_000, '{}'), `t=1700000000,v1=${createHmac('sha256', 'key').update('1700000000.{}').digest('hex')}`);
    assert.match(signAlert('key', 1_700_000_000, '{}'), /^t=1700000000,v1=[0-9a-f]{64}$/);
    assert.notEqual(signAlert('key', 1_700_000_000, '{}'), signAlert('key', 1_700_000_001, '{}'), 'the timestamp is signed');
  });
});

describe('small helpers', () => {
  it('reads --since as a date (UTC midnight) or a date-time with a zone, and nothing else', () => {
    assert.equal(parseSince('2026-01-31'), Date.UTC(2026, 0, 31));
    assert.equal(parseSince('2026-01-31T12:30:00Z'), Date.UTC(2026, 0, 31, 12, 30));
    assert.equal(parseSince('2026-01-31T12:30:00+02:00'), Date.UTC(2026, 0, 31, 10, 30));
    for (const bad of ['yesterday', '2026-1-31', '2026-01-31T12:30', '2026-13-01', '']) assert.equal(parseSince(bad), undefined, bad);
  });

  it('rounds chart scales up to 1, 2 or 5 times a power of ten', () => {
    assert.deepEqual(
      [0, 1, 3, 7, 10, 11, 180, 4_300].map(niceCeiling),
      [1, 1, 5, 10, 10, 20, 200, 5_000],
    );
  });
});
