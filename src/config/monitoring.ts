// src/config/monitoring.ts
// The monitoring settings (issue 6) turned into MonitoringConfig: the metrics listener's address,
// audit retention and the alert webhook, with one problem per mistake, each naming its fix.

import { isIP } from 'node:net';
import type { MonitoringConfig } from './config.js';
import type { ConfigProblem } from './config-error.js';
import type { RawSettings } from './settings.js';

export const defaultMetricsAddress = { host: '127.0.0.1', port: 9464 } as const;

/** "off", "PORT", "HOST:PORT" or "[IPv6]:PORT"; undefined when it does not parse. */
export function parseMetricsAddress(value: string): { host: string; port: number } | null | undefined {
  if (value === 'off') return null;
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value) ?? /^()()(\d{1,5})$/.exec(value);
  if (match === null) return undefined;
  const host = match[1] !== undefined && match[1] !== '' ? match[1] : match[2] !== undefined && match[2] !== '' ? match[2] : defaultMetricsAddress.host;
  const port = Number(match[3]);
  if (port > 65_535) return undefined;
  if (match[1] !== undefined && match[1] !== '' && isIP(host) !== 6) return undefined;
  return { host, port };
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function resolveMonitoring(raw: RawSettings, isProduction: boolean, problems: ConfigProblem[], warnings: string[]): MonitoringConfig {
  let metrics: MonitoringConfig['metrics'] = raw.NODE_ENV === 'test' ? null : defaultMetricsAddress;
  if (raw.PORTCULLIS_METRICS_ADDR !== undefined) {
    const parsed = parseMetricsAddress(raw.PORTCULLIS_METRICS_ADDR);
    if (parsed === undefined) {
      problems.push({
        setting: 'PORTCULLIS_METRICS_ADDR',
        problem: 'the metrics address does not parse',
        fix: 'use HOST:PORT (for example 127.0.0.1:9464 or [::1]:9464), a port alone, or "off"',
      });
    } else {
      metrics = parsed;
    }
  }
  if (metrics !== null && !isLoopbackHost(metrics.host)) {
    // Reachable from elsewhere is sometimes the point (a scraper on another host), but the numbers
    // describe attacks in progress: say so once at start.
    warnings.push(`PORTCULLIS_METRICS_ADDR: metrics are served on ${metrics.host}, not loopback; restrict who can reach port ${metrics.port} with a firewall`);
  }

  let alerts: MonitoringConfig['alerts'];
  const url = raw.PORTCULLIS_ALERT_WEBHOOK_URL;
  if (url !== undefined) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && !isLoopbackHost(parsed.hostname)) {
      const problem = {
        setting: 'PORTCULLIS_ALERT_WEBHOOK_URL',
        problem: 'alerts would travel unencrypted (http:// to a host other than loopback)',
        fix: 'use an https:// address',
      };
      if (isProduction) problems.push(problem);
      else warnings.push(`${problem.setting}: ${problem.problem} (refused in production). Fix: ${problem.fix}.`);
    }
    if (parsed.username !== '' || parsed.password !== '') {
      problems.push({ setting: 'PORTCULLIS_ALERT_WEBHOOK_URL', problem: 'the URL carries credentials, which would end up in logs', fix: 'sign alerts with PORTCULLIS_ALERT_WEBHOOK_SECRET instead' });
    }
    if (raw.PORTCULLIS_ALERT_WEBHOOK_SECRET === undefined && isProduction) {
      warnings.push('PORTCULLIS_ALERT_WEBHOOK_SECRET is not set: alerts are sent unsigned and the receiver cannot tell them from forgeries');
    }
    alerts = {
      webhookUrl: url,
      secret: raw.PORTCULLIS_ALERT_WEBHOOK_SECRET,
      failuresPerMinute: raw.PORTCULLIS_ALERT_FAILURES_PER_MINUTE,
      throttledAccounts: raw.PORTCULLIS_ALERT_THROTTLED_ACCOUNTS,
    };
  } else if (raw.PORTCULLIS_ALERT_WEBHOOK_SECRET !== undefined) {
    warnings.push('PORTCULLIS_ALERT_WEBHOOK_SECRET is set but PORTCULLIS_ALERT_WEBHOOK_URL is not: no alerts are sent');
  }

  return {
    metrics,
    auditRetentionDays: raw.PORTCULLIS_AUDIT_RETENTION_DAYS === 'off' ? null : raw.PORTCULLIS_AUDIT_RETENTION_DAYS,
    alerts,
  };
}
