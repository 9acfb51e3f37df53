// src/web/routes/csp-reports.ts
// POST /csp-reports: Content-Security-Policy violation reports, from `report-uri`
// (application/csp-report) and from the Reporting API's `report-to` (application/reports+json).
//
// Mounted before the body-type guard, the session and the CSRF check, on purpose and narrowly:
// browsers send these reports on their own, without cookies a session could use, without a form
// token and with their own content types, so the CSRF rules cannot apply. The exemption covers
// this one path and method only; the handler reads no session, changes no account and answers
// nothing but 204, so a forged cross-site post can do no more than any client can do directly:
// add a report, within the size limit (8 KiB) and the rate limits (per network and overall).
// Reports are validated with zod, kept only when they are about this site's own pages, stripped
// of query strings (tokens travel there), stored in csp_reports and counted.

import { randomUUID } from 'node:crypto';
import express, { Router, type Request, type RequestHandler } from 'express';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import { markRateLimited, securityMetricsFor } from '../../observability/metrics.js';
import { cspDirectiveLabel, networkOf } from '../../observability/security-signals.js';
import { cspReportGroup, cspReportPath } from '../../security/headers.js';
import type { Database } from '../../storage/schema.js';

export { cspReportGroup, cspReportPath };
export const cspReportMaxBytes = 8 * 1024;

const reportTypes = ['application/csp-report', 'application/reports+json'];

const url = z.string().max(4096);
const count = z.number().int().min(0).max(10_000_000);

/** report-uri's body (CSP level 2/3). Unknown members are allowed and ignored. */
const legacyReport = z.object({
  'csp-report': z.looseObject({
    'document-uri': url,
    'violated-directive': z.string().max(512).optional(),
    'effective-directive': z.string().max(128).optional(),
    disposition: z.enum(['enforce', 'report']).optional(),
    'blocked-uri': url.optional(),
    'source-file': url.optional(),
    'line-number': count.optional(),
    'column-number': count.optional(),
    'script-sample': z.string().max(1024).optional(),
  }),
});

/** One Reporting API report; only csp-violation reports are kept. */
const reportingApiReport = z.looseObject({
  type: z.string().max(64),
  url: url.optional(),
  body: z.unknown(),
});
const cspViolationBody = z.looseObject({
  documentURL: url,
  effectiveDirective: z.string().max(128),
  disposition: z.enum(['enforce', 'report']).optional(),
  blockedURL: url.optional(),
  sourceFile: url.optional(),
  lineNumber: count.optional(),
  columnNumber: count.optional(),
  sample: z.string().max(1024).optional(),
});
const reportingApiBatch = z.array(reportingApiReport).min(1).max(20);

export interface CspReport {
  readonly directive: string;
  readonly disposition: 'enforce' | 'report';
  readonly documentUrl: string;
  readonly blockedUrl: string | undefined;
  readonly sourceFile: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly sample: string | undefined;
}

/** Origin and path of a URL; keywords such as "inline" or "eval" as they are. Never the query. */
export function withoutQuery(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!URL.canParse(value)) return /^[a-z-]{1,32}$/i.test(value) ? value : undefined;
  const parsed = new URL(value);
  if (parsed.protocol === 'data:' || parsed.protocol === 'blob:') return parsed.protocol.slice(0, -1);
  return `${parsed.origin === 'null' ? parsed.protocol : parsed.origin}${parsed.pathname}`.slice(0, 512);
}

/** The reports a body holds, in one shape; throws VALIDATION_FAILED for anything malformed. */
export function parseCspReports(mediaType: string, body: unknown): CspReport[] {
  if (mediaType === 'application/csp-report') {
    const parsed = legacyReport.safeParse(body);
    if (!parsed.success) throw new AppError('VALIDATION_FAILED');
    const report = parsed.data['csp-report'];
    const directive = report['effective-directive'] ?? report['violated-directive'] ?? 'unknown';
    return [
      {
        directive,
        disposition: report.disposition ?? 'enforce',
        documentUrl: report['document-uri'],
        blockedUrl: report['blocked-uri'],
        sourceFile: report['source-file'],
        line: report['line-number'],
        column: report['column-number'],
        sample: report['script-sample'],
      },
    ];
  }
  const batch = reportingApiBatch.safeParse(body);
  if (!batch.success) throw new AppError('VALIDATION_FAILED');
  const reports: CspReport[] = [];
  for (const entry of batch.data) {
    if (entry.type !== 'csp-violation') continue;
    const parsed = cspViolationBody.safeParse(entry.body);
    if (!parsed.success) throw new AppError('VALIDATION_FAILED');
    reports.push({
      directive: parsed.data.effectiveDirective,
      disposition: parsed.data.disposition ?? 'enforce',
      documentUrl: parsed.data.documentURL,
      blockedUrl: parsed.data.blockedURL,
      sourceFile: parsed.data.sourceFile,
      line: parsed.data.lineNumber,
      column: parsed.data.columnNumber,
      sample: parsed.data.sample,
    });
  }
  return reports;
}

export interface CspReportOptions {
  readonly db: Kysely<Database>;
  readonly publicOrigin: string;
  /** Reports per network (IPv4 /24, IPv6 /48) per minute (default 30). */
  readonly perNetworkPerMinute?: number;
  /** Reports per minute from everyone together, per instance (default 600): bounds the writes. */
  readonly totalPerMinute?: number;
  readonly now?: () => number;
}

/**
 * Fixed one-minute windows in this process. Shared stores matter for limits that protect
 * accounts; this one only bounds how much junk one instance writes, so memory is enough.
 */
function createReportLimiter(perNetwork: number, total: number, now: () => number): (req: Request) => boolean {
  let windowStart = 0;
  let totalCount = 0;
  let counts = new Map<string, number>();
  return (req) => {
    const at = now();
    if (at - windowStart >= 60_000) {
      windowStart = at;
      totalCount = 0;
      counts = new Map();
    }
    const key = networkOf(req.ip) ?? 'unknown';
    const used = counts.get(key) ?? 0;
    if (used >= perNetwork || totalCount >= total) return false;
    // Bounded: at most `total` keys can be admitted per window.
    counts.set(key, used + 1);
    totalCount += 1;
    return true;
  };
}

function mediaTypeOf(req: Request): string {
  return (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

export function cspReportRoutes(options: Readonly<CspReportOptions>): Router {
  const { db, publicOrigin } = options;
  const now = options.now ?? Date.now;
  const admit = createReportLimiter(options.perNetworkPerMinute ?? 30, options.totalPerMinute ?? 600, now);
  const router = Router({ caseSensitive: true, strict: true });

  const checkType: RequestHandler = (req, _res, next) => {
    if (!reportTypes.includes(mediaTypeOf(req))) throw new AppError('UNSUPPORTED_MEDIA_TYPE');
    next();
  };
  const limit: RequestHandler = (req, res, next) => {
    if (admit(req)) {
      next();
      return;
    }
    markRateLimited(req, res, 'csp_reports');
    throw new AppError('RATE_LIMITED', { headers: { 'Retry-After': '60' } });
  };

  router.post(
    cspReportPath,
    checkType,
    limit,
    express.json({ type: reportTypes, limit: cspReportMaxBytes, strict: true }),
    async (req, res) => {
      const reports = parseCspReports(mediaTypeOf(req), req.body as unknown);
      // Only reports about this site's own pages are kept; anything else is noise, or a forgery.
      const ours = reports.filter((report) => URL.canParse(report.documentUrl) && new URL(report.documentUrl).origin === publicOrigin);
      if (ours.length > 0) {
        const at = now();
        const network = networkOf(req.ip) ?? null;
        await db
          .insertInto('csp_reports')
          .values(
            ours.map((report) => ({
              id: randomUUID(),
              at,
              directive: cspDirectiveLabel(report.directive) === 'other' ? report.directive.slice(0, 64) : cspDirectiveLabel(report.directive),
              disposition: report.disposition,
              document_url: withoutQuery(report.documentUrl) ?? publicOrigin,
              blocked_url: withoutQuery(report.blockedUrl) ?? null,
              source_file: withoutQuery(report.sourceFile) ?? null,
              line_number: report.line ?? null,
              column_number: report.column ?? null,
              sample: report.sample?.slice(0, 80) ?? null,
              network,
            })),
          )
          .execute();
        const metrics = securityMetricsFor(req);
        for (const report of ours) metrics.cspReport(report.directive);
        req.log.info({ cspReports: ours.map((report) => ({ directive: cspDirectiveLabel(report.directive), document: withoutQuery(report.documentUrl), blocked: withoutQuery(report.blockedUrl) })) }, 'content security policy violation reported');
      }
      res.status(204).end();
    },
  );
  return router;
}
