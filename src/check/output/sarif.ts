// src/check/output/sarif.ts
// --sarif: SARIF 2.1.0 for code-scanning tools (GitHub code scanning, GitLab, Azure DevOps). One
// rule per finding id, one result per failure or warning; failures at or above --fail-on are
// "error", other failures "warning", warnings "note". security-severity follows GitHub's bands.

import { pathToFileURL } from 'node:url';
import { practiceTitle, type Finding, type Severity } from '../finding.js';
import { failingFindings, type Report } from '../report.js';

const securitySeverity: Readonly<Record<Severity, string>> = { info: '0.0', low: '3.0', medium: '5.5', high: '8.0', critical: '9.5' };

interface SarifLocation {
  readonly physicalLocation: {
    readonly artifactLocation: { readonly uri: string; readonly uriBaseId?: string };
    readonly region?: { readonly startLine: number };
  };
}

function locationsOf(finding: Finding, report: Report): SarifLocation[] {
  if (report.target.kind === 'url') return [{ physicalLocation: { artifactLocation: { uri: report.target.value } } }];
  const locations = finding.locations ?? [];
  if (locations.length === 0) return [{ physicalLocation: { artifactLocation: { uri: 'package.json', uriBaseId: 'SRCROOT' } } }];
  return locations.map((location) => ({
    physicalLocation: {
      artifactLocation: { uri: location.file, uriBaseId: 'SRCROOT' },
      ...(location.line === undefined ? {} : { region: { startLine: location.line } }),
    },
  }));
}

export function formatSarif(report: Report, failOn: Severity): string {
  const reported = report.findings.filter((finding) => finding.status === 'fail' || finding.status === 'warn');
  const failing = new Set(failingFindings(report, failOn));
  const ruleIds = [...new Set(reported.map((finding) => finding.id))];
  const rules = ruleIds.map((id) => {
    const finding = reported.find((candidate) => candidate.id === id);
    const worst = reported.filter((candidate) => candidate.id === id).map((candidate) => Number(securitySeverity[candidate.severity]));
    return {
      id,
      name: id.replace(/(^|-)([a-z0-9])/g, (_match, _dash: string, letter: string) => letter.toUpperCase()),
      shortDescription: { text: finding?.title ?? id },
      help: { text: `${finding?.title ?? id}. Practice ${finding?.practice ?? '?'}: ${finding === undefined ? '' : practiceTitle(finding.practice)}. See docs/check.md.` },
      properties: {
        tags: ['security', `practice-${finding?.practice ?? 0}`],
        precision: 'high',
        'security-severity': Math.max(0, ...worst).toFixed(1),
      },
    };
  });
  const results = reported.map((finding) => ({
    ruleId: finding.id,
    ruleIndex: ruleIds.indexOf(finding.id),
    level: finding.status === 'warn' ? 'note' : failing.has(finding) ? 'error' : 'warning',
    message: { text: `${finding.title}: ${finding.evidence}${finding.fix === '' ? '' : ` Fix: ${finding.fix}`}` },
    locations: locationsOf(finding, report),
    properties: { practice: finding.practice, severity: finding.severity, status: finding.status },
  }));
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'portcullis-check',
            version: report.tool.version,
            semanticVersion: report.tool.version,
            rules,
          },
        },
        invocations: [
          {
            executionSuccessful: true,
            startTimeUtc: report.startedAt,
            endTimeUtc: new Date(Date.parse(report.startedAt) + report.durationMs).toISOString(),
          },
        ],
        ...(report.target.kind === 'project' ? { originalUriBaseIds: { SRCROOT: { uri: pathToFileURL(report.target.value).href.replace(/\/?$/, '/') } } } : {}),
        results,
        properties: { target: report.target, failOn, observatory: report.observatory === undefined ? undefined : { score: report.observatory.score, grade: report.observatory.grade } },
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}
