// src/check/project/docker.ts
// Practice 1 (run without root) in a container: the final stage of every Dockerfile must switch to an
// unprivileged USER (or start from an image that already runs as one). Read statically: no Docker
// engine is needed, build arguments take their defaults, and an image's own default user is only
// known for images that say so in their name (distroless :nonroot, Chainguard).

import type { Finding } from '../finding.js';
import { fail, notChecked, pass, warn, type CheckDefinition } from '../finding.js';
import { baseName, type ProjectCheckGroup } from './context.js';
import { isDeployedPath } from './files.js';

export const dockerCheck = { practice: 1, id: 'dockerfile-user', title: 'The Dockerfile runs the app as a non-root USER', severity: 'high' } as const satisfies CheckDefinition;

export interface DockerInstruction {
  readonly keyword: string;
  readonly argument: string;
  readonly line: number;
}

export interface DockerStage {
  /** The image after ARG substitution, as written in FROM. */
  readonly image: string;
  readonly name: string | undefined;
  readonly line: number;
  readonly users: readonly { readonly value: string; readonly line: number }[];
}

export interface ParsedDockerfile {
  readonly stages: readonly DockerStage[];
}

/** Dockerfile, Containerfile, Dockerfile.prod, app.Dockerfile ... outside test and example folders. */
export function isDockerfile(relative: string): boolean {
  if (!isDeployedPath(relative)) return false;
  const name = baseName(relative).toLowerCase();
  if (/\.(?:[cm]?[jt]sx?|md|json|txt|ya?ml|sh|map)$/.test(name)) return false;
  return name === 'dockerfile' || name === 'containerfile' || name.startsWith('dockerfile.') || name.endsWith('.dockerfile');
}

/** Instructions with line continuations joined and comments dropped. */
export function instructions(text: string): DockerInstruction[] {
  const result: DockerInstruction[] = [];
  const lines = text.split(/\r?\n/);
  let pending = '';
  let startLine = 0;
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (pending !== '' && line.startsWith('#')) continue;
    if (pending === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = `${pending}${line}`.trim();
    pending = '';
    const match = /^([A-Za-z]+)\s*(.*)$/.exec(full);
    if (match !== null) result.push({ keyword: (match[1] ?? '').toUpperCase(), argument: match[2] ?? '', line: startLine });
  }
  return result;
}

/** Replaces $NAME and ${NAME} (and ${NAME:-default}) with known values. */
export function substitute(text: string, values: ReadonlyMap<string, string>): string {
  return text
    .replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => values.get(braced ?? bare ?? '') ?? whole)
    .replace(/\$\{(\w+):?[-+]([^}]*)\}/g, (_whole, name: string, fallback: string) => values.get(name) ?? fallback);
}

function argDefinition(argument: string): [string, string] | undefined {
  const text = argument.trim();
  const equals = text.indexOf('=');
  const name = equals === -1 ? text : text.slice(0, equals);
  if (!/^[A-Za-z_]\w*$/.test(name)) return undefined;
  return [name, equals === -1 ? '' : text.slice(equals + 1).replace(/^["']|["']$/g, '')];
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const globalArgs = new Map<string, string>();
  const stages: { image: string; name: string | undefined; line: number; users: { value: string; line: number }[]; values: Map<string, string> }[] = [];
  for (const instruction of instructions(text)) {
    const current = stages.at(-1);
    switch (instruction.keyword) {
      case 'ARG': {
        const definition = argDefinition(instruction.argument);
        if (definition === undefined) break;
        const [name, value] = definition;
        if (current === undefined) globalArgs.set(name, value);
        // Inside a stage, `ARG NAME` without a value brings the global default into scope.
        else current.values.set(name, value === '' ? (globalArgs.get(name) ?? '') : value);
        break;
      }
      case 'ENV': {
        if (current === undefined) break;
        for (const match of instruction.argument.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|\S+)/g)) current.values.set(match[1] ?? '', (match[2] ?? '').replace(/^["']|["']$/g, ''));
        break;
      }
      case 'FROM': {
        const parts = instruction.argument.split(/\s+/).filter((part) => !part.startsWith('--'));
        const image = substitute(parts[0] ?? '', globalArgs);
        const name = parts[1]?.toLowerCase() === 'as' ? parts[2]?.toLowerCase() : undefined;
        stages.push({ image, name, line: instruction.line, users: [], values: new Map() });
        break;
      }
      case 'USER':
        current?.users.push({ value: substitute(instruction.argument.trim(), new Map([...globalArgs, ...current.values])), line: instruction.line });
        break;
      default:
        break;
    }
  }
  return { stages: stages.map(({ image, name, line, users }) => ({ image, name, line, users })) };
}

export function isRootUser(value: string): boolean {
  const user = value.split(':')[0]?.trim().toLowerCase() ?? '';
  return user === 'root' || user === '0';
}

/** Images whose name says they run as a non-root user by default. */
function imageRunsAsNonRoot(image: string): boolean {
  return /(^|[:/-])nonroot\b|non-root|^cgr\.dev\/chainguard\//i.test(image);
}

export interface EffectiveUser {
  readonly user: string | undefined;
  readonly line: number | undefined;
  /** How the user was found, for the evidence. */
  readonly source: string;
}

/** The user the final stage runs as: its last USER, or the one of the stage it builds on. */
export function finalStageUser(parsed: ParsedDockerfile): EffectiveUser | undefined {
  const final = parsed.stages.at(-1);
  if (final === undefined) return undefined;
  const seen = new Set<DockerStage>();
  let stage: DockerStage | undefined = final;
  let bottom: DockerStage = final;
  while (stage !== undefined && !seen.has(stage)) {
    seen.add(stage);
    bottom = stage;
    const last = stage.users.at(-1);
    if (last !== undefined) return { user: last.value, line: last.line, source: stage === final ? 'USER in the final stage' : `USER in stage ${stage.name ?? '?'} it builds on` };
    const from = stage.image.toLowerCase();
    stage = parsed.stages.find((candidate) => candidate.name === from);
  }
  const base = bottom.image;
  if (imageRunsAsNonRoot(base)) return { user: 'the image default (non-root)', line: final.line, source: `base image ${base}` };
  return { user: undefined, line: final.line, source: `no USER; base image ${base} runs as root unless it says otherwise` };
}

export function dockerfileFinding(file: string, text: string): { readonly ok: boolean | undefined; readonly evidence: string; readonly line: number | undefined } {
  const parsed = parseDockerfile(text);
  const effective = finalStageUser(parsed);
  if (effective === undefined) return { ok: undefined, evidence: `${file}: no FROM instruction`, line: undefined };
  if (effective.user === undefined) return { ok: false, evidence: `${file}: ${effective.source}`, line: effective.line };
  if (/\$/.test(effective.user)) return { ok: undefined, evidence: `${file}: USER ${effective.user} depends on a build argument without a default`, line: effective.line };
  if (isRootUser(effective.user)) return { ok: false, evidence: `${file}:${effective.line ?? '?'}: USER ${effective.user} (${effective.source})`, line: effective.line };
  return { ok: true, evidence: `${file}:${effective.line ?? '?'}: USER ${effective.user} (${effective.source})`, line: effective.line };
}

export const dockerGroup: ProjectCheckGroup = {
  name: 'dockerfile',
  practice: 1,
  async run(context) {
    const files = context.files.filter(isDockerfile);
    if (files.length === 0) return [notChecked(dockerCheck, 'no Dockerfile or Containerfile in the folder')];
    const results = await Promise.all(
      files.map(async (file) => {
        const text = await context.read(file);
        return { file, result: text === undefined ? { ok: undefined, evidence: `${file}: unreadable`, line: undefined } : dockerfileFinding(file, text) };
      }),
    );
    const failing = results.filter(({ result }) => result.ok === false);
    const unknown = results.filter(({ result }) => result.ok === undefined);
    const evidence = results.map(({ result }) => result.evidence).join('; ');
    const locations = (list: typeof results) => list.map(({ file, result }) => ({ file, ...(result.line === undefined ? {} : { line: result.line }) }));
    const fix = 'create an unprivileged user (or use the image\'s: node images ship "node") and end the final stage with USER <name or uid:gid>, for example USER 10001:10001';
    const findings: Finding[] = [];
    if (failing.length > 0) findings.push(fail(dockerCheck, evidence, fix, { locations: locations(failing) }));
    else if (unknown.length > 0) findings.push(warn(dockerCheck, evidence, fix, { severity: 'low', locations: locations(unknown) }));
    else findings.push(pass(dockerCheck, evidence));
    return findings;
  },
};
