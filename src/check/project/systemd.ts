// src/check/project/systemd.ts
// Practice 1 (run without root) on a host: every systemd service unit in the project must start its
// process as an unprivileged user, with User= (not root) or DynamicUser=yes, as
// deploy/systemd/portcullis.service does.

import type { Finding } from '../finding.js';
import { fail, notChecked, pass, type CheckDefinition } from '../finding.js';
import type { ProjectCheckGroup } from './context.js';
import { isDeployedPath } from './files.js';

export const systemdCheck = { practice: 1, id: 'systemd-user', title: 'systemd units run the service as an unprivileged user', severity: 'high' } as const satisfies CheckDefinition;

export interface UnitUser {
  readonly ok: boolean;
  readonly evidence: string;
  readonly line: number | undefined;
}

const truthy = new Set(['1', 'yes', 'true', 'on']);

/** The [Service] section's User= and DynamicUser= (the last assignment of each wins, as in systemd). */
export function unitUser(file: string, text: string): UnitUser {
  let section = '';
  let user: { value: string; line: number } | undefined;
  let dynamic: { value: string; line: number } | undefined;
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header !== null) {
      section = header[1] ?? '';
      continue;
    }
    if (section !== 'Service') continue;
    const assignment = /^([A-Za-z]+)\s*=\s*(.*)$/.exec(line);
    if (assignment === null) continue;
    if (assignment[1] === 'User') user = { value: (assignment[2] ?? '').trim(), line: index + 1 };
    if (assignment[1] === 'DynamicUser') dynamic = { value: (assignment[2] ?? '').trim().toLowerCase(), line: index + 1 };
  }
  if (dynamic !== undefined && truthy.has(dynamic.value)) return { ok: true, evidence: `${file}:${dynamic.line}: DynamicUser=${dynamic.value}`, line: dynamic.line };
  if (user !== undefined && user.value !== '' && user.value !== 'root' && user.value !== '0') return { ok: true, evidence: `${file}:${user.line}: User=${user.value}`, line: user.line };
  if (user !== undefined) return { ok: false, evidence: `${file}:${user.line}: User=${user.value || '(empty)'}`, line: user.line };
  return { ok: false, evidence: `${file}: no User= or DynamicUser= in [Service], so systemd starts it as root`, line: undefined };
}

export const systemdGroup: ProjectCheckGroup = {
  name: 'systemd',
  practice: 1,
  async run(context) {
    const units = context.files.filter((file) => file.endsWith('.service') && isDeployedPath(file));
    if (units.length === 0) return [notChecked(systemdCheck, 'no systemd .service unit in the folder')];
    const results = await Promise.all(units.map(async (file) => ({ file, result: unitUser(file, (await context.read(file)) ?? '') })));
    const failing = results.filter(({ result }) => !result.ok);
    const evidence = results.map(({ result }) => result.evidence).join('; ');
    const findings: Finding[] = [
      failing.length === 0
        ? pass(systemdCheck, evidence)
        : fail(systemdCheck, evidence, 'add DynamicUser=yes (with StateDirectory= for writable state) or User=<unprivileged account> to [Service]', {
            locations: failing.map(({ file, result }) => ({ file, ...(result.line === undefined ? {} : { line: result.line }) })),
          }),
    ];
    return findings;
  },
};
