// src/check/project/node-version.ts
// Practice 2 applied to the runtime: the Node.js versions a project declares (package.json engines,
// .nvmrc / .node-version, the node image of each Dockerfile stage) against the end-of-life schedule
// the server itself warns with (src/security/node-support.ts).

import type { Finding } from '../finding.js';
import { fail, notChecked, pass, warn, type CheckDefinition } from '../finding.js';
import { nodeEndOfLife, nodeLtsCodenames, nodeSupportStatus } from '../../security/node-support.js';
import type { ProjectCheckGroup, ProjectContext } from './context.js';
import { isDockerfile, parseDockerfile } from './docker.js';

export const nodeVersionChecks = {
  any: { practice: 2, id: 'node-version', title: 'The project declares a supported Node.js version', severity: 'info' },
  engines: { practice: 2, id: 'node-version-engines', title: 'package.json engines.node allows no end-of-life Node.js', severity: 'medium' },
  nvmrc: { practice: 2, id: 'node-version-nvmrc', title: '.nvmrc / .node-version names a supported Node.js', severity: 'high' },
  docker: { practice: 2, id: 'node-version-docker', title: 'Dockerfile node images are a supported Node.js', severity: 'high' },
} as const satisfies Record<string, CheckDefinition>;

/** Majors considered when reading a range; later ones are not yet released or scheduled. */
const highestMajorConsidered = 40;

type Version = readonly [number, number | undefined, number | undefined];

function parseVersion(text: string): Version | undefined {
  // Pre-release and build suffixes (20.0.0-rc.1, 1.2.3+build) do not change the major.
  const core = text.trim().replace(/^v/, '').split(/[-+]/)[0] ?? '';
  const parts = core.split('.');
  if (parts.length === 0 || parts.length > 3 || !parts.every((part) => /^(?:\d+|[xX*])$/.test(part))) return undefined;
  const number = (index: number) => {
    const part = parts.at(index);
    return part === undefined || /^[xX*]$/.test(part) ? undefined : Number(part);
  };
  const major = number(0);
  if (major === undefined) return [-1, undefined, undefined];
  return [major, number(1), number(2)];
}

const encode = (major: number, minor: number, patch: number) => major * 1_000_000 + minor * 1_000 + patch;
const infinity = Number.MAX_SAFE_INTEGER;

/** Lowest version a partial version stands for, and the first version above everything it stands for. */
function bounds(version: Version): [number, number] {
  const [major, minor, patch] = version;
  if (major < 0) return [0, infinity];
  if (minor === undefined) return [encode(major, 0, 0), encode(major + 1, 0, 0)];
  if (patch === undefined) return [encode(major, minor, 0), encode(major, minor + 1, 0)];
  return [encode(major, minor, patch), encode(major, minor, patch) + 1];
}

/** One comparator as a half-open interval [low, high). */
function comparatorInterval(comparator: string): [number, number] | undefined {
  const operator = ['>=', '<=', '~>', '^', '~', '>', '<', '='].find((candidate) => comparator.startsWith(candidate)) ?? '';
  const version = parseVersion(comparator.slice(operator.length));
  if (version === undefined) return undefined;
  const [low, high] = bounds(version);
  const [major, minor, patch] = version;
  switch (operator) {
    case '':
    case '=':
      return [low, high];
    case '>=':
      return [low, infinity];
    case '>':
      return [high, infinity];
    case '<':
      return [0, low];
    case '<=':
      return [0, high];
    case '~':
    case '~>':
      return [low, minor === undefined ? high : encode(major, minor + 1, 0)];
    case '^':
      if (major > 0 || minor === undefined) return [low, major < 0 ? infinity : encode(major + 1, 0, 0)];
      if (minor > 0 || patch === undefined) return [low, encode(0, minor + 1, 0)];
      return [low, encode(0, 0, patch + 1)];
    default:
      return undefined;
  }
}

/** The Node.js majors a semver range allows (undefined when the range cannot be read). */
export function majorsAllowedBy(range: string): number[] | undefined {
  const allowed = new Set<number>();
  for (const alternative of range.split('||')) {
    let text = alternative.trim().replace(/(>=|<=|>|<|=|\^|~>?)\s+/g, '$1');
    let low = 0;
    let high = infinity;
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
    if (hyphen !== null) {
      const from = parseVersion(hyphen[1] ?? '');
      const to = parseVersion(hyphen[2] ?? '');
      if (from === undefined || to === undefined) return undefined;
      low = bounds(from)[0];
      high = bounds(to)[1];
      text = '';
    }
    for (const comparator of text.split(/\s+/).filter((part) => part !== '')) {
      const interval = comparatorInterval(comparator);
      if (interval === undefined) return undefined;
      low = Math.max(low, interval[0]);
      high = Math.min(high, interval[1]);
    }
    for (let major = 0; major <= highestMajorConsidered; major++) {
      if (low < high && low < encode(major + 1, 0, 0) && high > encode(major, 0, 0)) allowed.add(major);
    }
  }
  return [...allowed].sort((a, b) => a - b);
}

function endOfLifeText(major: number, now: Date): string {
  const status = nodeSupportStatus(major, now);
  return status.endOfLife === undefined ? `Node.js ${major} (end of life long ago)` : `Node.js ${major} (end of life ${status.endOfLife})`;
}

const isPastEndOfLife = (major: number, now: Date) => nodeSupportStatus(major, now).pastEndOfLife;

/** The newest LTS major in the schedule that is supported today (for "lts/*" and "node:lts"). */
function currentLts(now: Date): number | undefined {
  return [...nodeEndOfLife.keys()].filter((major) => major % 2 === 0 && !isPastEndOfLife(major, now)).sort((a, b) => a - b).at(-1);
}

/** A Node.js version as written in .nvmrc or an image tag: a number, a codename, or a moving alias. */
export function majorOfSpecifier(specifier: string, now: Date): { major: number | undefined; moving: boolean } {
  const text = specifier.trim().toLowerCase().replace(/^lts\//, '');
  const number = /^v?(\d+)/.exec(text);
  if (number !== null) return { major: Number(number[1]), moving: false };
  const codename = nodeLtsCodenames.get(text.split('-')[0] ?? '');
  if (codename !== undefined) return { major: codename, moving: false };
  if (/^(\*|lts|node|latest|current|stable)(-|$)/.test(text) || text === '') return { major: text.startsWith('lts') || text === '*' ? currentLts(now) : undefined, moving: true };
  return { major: undefined, moving: false };
}

/** The major of a node image reference (node:20-alpine, cgr.dev/chainguard/node:latest, gcr.io/distroless/nodejs22-debian12). */
export function nodeImageMajor(image: string, now: Date): { major: number | undefined; moving: boolean } | undefined {
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  const repository = (colon === -1 ? withoutDigest : withoutDigest.slice(0, colon)).toLowerCase();
  const tag = colon === -1 ? '' : withoutDigest.slice(colon + 1);
  const name = repository.slice(repository.lastIndexOf('/') + 1);
  const distroless = /^nodejs(\d+)/.exec(name);
  if (distroless !== null) return { major: Number(distroless[1]), moving: false };
  if (name !== 'node') return undefined;
  if (tag === '') return { major: undefined, moving: true };
  // A tag without a version (alpine, bookworm-slim) is a variant of the newest release.
  const specified = majorOfSpecifier(tag, now);
  return specified.major === undefined ? { major: undefined, moving: true } : specified;
}

function enginesFinding(context: ProjectContext, now: Date): Finding | undefined {
  const range = context.packageJson.engines?.node;
  if (typeof range !== 'string') return undefined;
  const majors = majorsAllowedBy(range);
  const location = [{ file: 'package.json' }];
  if (majors === undefined) return warn(nodeVersionChecks.engines, `engines.node "${range}" could not be read as a version range`, 'write engines.node as a semver range, for example ">=22"', { severity: 'low', locations: location });
  if (majors.length === 0) return warn(nodeVersionChecks.engines, `engines.node "${range}" allows no Node.js version`, 'fix the range', { severity: 'low', locations: location });
  const dead = majors.filter((major) => isPastEndOfLife(major, now));
  const floor = majors[0] ?? 0;
  if (dead.length === majors.length) {
    return fail(nodeVersionChecks.engines, `engines.node "${range}" allows only end-of-life majors: ${dead.map((major) => endOfLifeText(major, now)).join(', ')}`, `move to a supported LTS (Node.js ${currentLts(now) ?? 'current LTS'}) and update engines.node`, {
      severity: 'high',
      locations: location,
    });
  }
  // What matters is the floor: an open range (">=22") also admits short-lived odd majors, which no one
  // deploys on; a floor past end of life means installs on a dead runtime are still accepted.
  if (isPastEndOfLife(floor, now)) {
    const named = dead.filter((major) => major === floor || major % 2 === 0);
    return warn(
      nodeVersionChecks.engines,
      `engines.node "${range}" still allows ${named.map((major) => endOfLifeText(major, now)).join(', ')}`,
      `raise the lower bound to a supported major (">=${majors.find((major) => !isPastEndOfLife(major, now)) ?? currentLts(now) ?? ''}") once nothing runs the old one`,
      { locations: location },
    );
  }
  return pass(nodeVersionChecks.engines, `engines.node "${range}" starts at Node.js ${floor}, which is supported`);
}

async function nvmrcFinding(context: ProjectContext, now: Date): Promise<Finding | undefined> {
  const file = ['.nvmrc', '.node-version'].find((name) => context.files.includes(name));
  if (file === undefined) return undefined;
  const text = ((await context.read(file)) ?? '').split('\n')[0]?.trim() ?? '';
  const { major, moving } = majorOfSpecifier(text, now);
  const location = [{ file, line: 1 }];
  if (major === undefined) {
    return moving ? pass(nodeVersionChecks.nvmrc, `${file}: "${text}" follows the newest release`) : warn(nodeVersionChecks.nvmrc, `${file}: "${text}" is not a version this check can read`, 'write a major version, for example 22', { severity: 'low', locations: location });
  }
  if (isPastEndOfLife(major, now)) return fail(nodeVersionChecks.nvmrc, `${file}: "${text}" is ${endOfLifeText(major, now)}`, `switch to a supported LTS (${currentLts(now) ?? 'the current LTS'})`, { locations: location });
  return pass(nodeVersionChecks.nvmrc, `${file}: "${text}" is Node.js ${major}, supported`);
}

async function dockerFinding(context: ProjectContext, now: Date): Promise<Finding | undefined> {
  const dockerfiles = context.files.filter(isDockerfile);
  const seen: { file: string; line: number; image: string; major: number | undefined; moving: boolean; final: boolean }[] = [];
  for (const file of dockerfiles) {
    const text = await context.read(file);
    if (text === undefined) continue;
    const { stages } = parseDockerfile(text);
    const stageNames = new Set(stages.map((stage) => stage.name).filter((name) => name !== undefined));
    for (const [index, stage] of stages.entries()) {
      if (stageNames.has(stage.image.toLowerCase())) continue;
      const node = nodeImageMajor(stage.image, now);
      if (node === undefined) continue;
      seen.push({ file, line: stage.line, image: stage.image, major: node.major, moving: node.moving, final: index === stages.length - 1 });
    }
  }
  if (seen.length === 0) return undefined;
  const dead = seen.filter((entry) => entry.major !== undefined && isPastEndOfLife(entry.major, now));
  const describe = (entry: (typeof seen)[number]) => `${entry.file}:${entry.line} FROM ${entry.image}${entry.major === undefined ? '' : ` (Node.js ${entry.major})`}${entry.final ? ' [final stage]' : ''}`;
  if (dead.length > 0) {
    return fail(nodeVersionChecks.docker, dead.map((entry) => `${describe(entry)}: ${endOfLifeText(entry.major ?? 0, now)}`).join('; '), `build FROM a supported LTS image, pinned to a release (node:${currentLts(now) ?? 'lts'}-bookworm-slim or an exact version)`, {
      severity: dead.some((entry) => entry.final) ? 'high' : 'medium',
      locations: dead.map((entry) => ({ file: entry.file, line: entry.line })),
    });
  }
  const unpinned = seen.filter((entry) => entry.moving);
  if (unpinned.length > 0) {
    return warn(nodeVersionChecks.docker, `${unpinned.map(describe).join('; ')}: a moving tag, so the runtime changes without a commit`, 'pin the image to a major and release (node:24.11.1-bookworm-slim), and bump it deliberately', {
      severity: 'low',
      locations: unpinned.map((entry) => ({ file: entry.file, line: entry.line })),
    });
  }
  return pass(nodeVersionChecks.docker, seen.map(describe).join('; '));
}

export const nodeVersionGroup: ProjectCheckGroup = {
  name: 'node version',
  practice: 2,
  async run(context) {
    const now = context.options.now ?? new Date();
    const found = [enginesFinding(context, now), await nvmrcFinding(context, now), await dockerFinding(context, now)].filter((finding) => finding !== undefined);
    if (found.length === 0) {
      return [notChecked(nodeVersionChecks.any, 'no engines.node in package.json, no .nvmrc or .node-version, and no Dockerfile FROM node', 'declare the supported Node.js range in package.json engines.node')];
    }
    return found;
  },
};
