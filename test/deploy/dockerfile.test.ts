// test/deploy/dockerfile.test.ts
// Practice 1 (run without root) for the container image, checked statically because no Docker
// engine runs in CI. Threats: an image that runs as root, pulls whatever "latest" is today, fetches
// code from a URL at build time, bakes a secret into a layer, ships compilers and dev dependencies,
// or copies .env and the .git history in through a careless build context.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/cli.js';

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults: they may be used in FROM lines. */
  readonly globalArgs: ReadonlyMap<string, string>;
  readonly stages: Stage[];
  readonly all: Instruction[];
}

/** Splits a Dockerfile into instructions (joining "\" continuations, dropping comments) and stages. */
function parseDockerfile(text: string): Dockerfile {
  const all: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (pending === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (pending !== '' && line.trimStart().startsWith('#')) return;
    if (pending === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const [keyword = '', ...rest] = full.split(/\s+/);
    all.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), line: startLine });
  });
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of all) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const image = (words[0] ?? '').replace(/\$\{?(\w+)\}?/g, (_match, name: string) => globalArgs.get(name) ?? '');
      const asIndex = words.findIndex((word) => word.toUpperCase() === 'AS');
      stages.push({ image, name: asIndex === -1 ? undefined : words[asIndex + 1], instructions: [] });
      continue;
    }
    const current = stages.at(-1);
    if (current !== undefined) current.instructions.push(instruction);
    else if (instruction.keyword === 'ARG') {
      const [name = '', value = ''] = instruction.args.split('=', 2);
      globalArgs.set(name.trim(), value.trim());
    }
  }
  return { globalArgs, stages, all };
}

/** NAME=value pairs of an ENV or ARG instruction (also the legacy "ENV NAME value" form). */
function assignments(instruction: Instruction): [string, string][] {
  if (instruction.keyword === 'ENV' && !/^\S+=/.test(instruction.args)) {
    const [name = '', ...value] = instruction.args.split(/\s+/);
    return [[name, value.join(' ')]];
  }
  return words(instruction.args).map((word) => {
    const equals = word.indexOf('=');
    return equals === -1 ? [word, ''] : [word.slice(0, equals), word.slice(equals + 1)];
  });
}

/** Splits on whitespace outside quotes and removes the quotes, as Docker reads NAME="a b" pairs. */
function words(text: string): string[] {
  const found: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (const character of text) {
    if (quote !== undefined) {
      if (character === quote) quote = undefined;
      else current += character;
    } else if (character === '"' || character === "'") {
      quote = character;
    } else if (/\s/.test(character)) {
      if (current !== '') found.push(current);
      current = '';
    } else {
      current += character;
    }
  }
  if (current !== '') found.push(current);
  return found;
}

// Each check returns its problems; [] means the Dockerfile passes it.

function runsAsNumericNonRootUser(file: Dockerfile): string[] {
  const final = file.stages.at(-1);
  if (final === undefined) return ['no FROM'];
  const user = final.instructions.filter((instruction) => instruction.keyword === 'USER').at(-1);
  if (user === undefined) return ['the final stage has no USER, so it runs as root'];
  const [uid = '', gid, ...extra] = user.args.trim().split(':');
  if (!/^\d+$/.test(uid) || (gid !== undefined && !/^\d+$/.test(gid)) || extra.length > 0) {
    return [`USER ${user.args} is not numeric (runAsNonRoot cannot verify a name)`];
  }
  const problems: string[] = [];
  if (Number(uid) === 0) problems.push('USER is uid 0');
  if (gid !== undefined && Number(gid) === 0) problems.push('USER is in group 0');
  const later = final.instructions.filter((instruction) => instruction.line > user.line && instruction.keyword === 'RUN');
  if (later.length > 0) problems.push('RUN after USER would run as the app user; keep USER last');
  return problems;
}

function addsNoUrls(file: Dockerfile): string[] {
  return file.all
    .filter((instruction) => instruction.keyword === 'ADD' && ['http://', 'https://', 'ftp://', 'git://', 'git@'].some((marker) => instruction.args.includes(marker)))
    .map((instruction) => `line ${instruction.line}: ADD fetches from the network: ${instruction.args}`);
}

const secretName = /SECRET|PASSWORD|PASSWD|TOKEN|KEY|CREDENTIAL|PRIVATE/i;

function bakesNoSecrets(file: Dockerfile): string[] {
  const problems: string[] = [];
  for (const instruction of file.all) {
    if (instruction.keyword === 'ENV' || instruction.keyword === 'ARG') {
      for (const [name, value] of assignments(instruction)) {
        if (secretName.test(name) && value !== '') problems.push(`line ${instruction.line}: ${instruction.keyword} ${name} has a value baked into the image`);
      }
    }
    if ((instruction.keyword === 'COPY' || instruction.keyword === 'ADD') && /(^|\s|\/)(\.env\b|\S*\.pem\b|\S*\.key\b|secret)/i.test(instruction.args)) {
      problems.push(`line ${instruction.line}: ${instruction.keyword} copies what looks like a secret: ${instruction.args}`);
    }
  }
  return problems;
}

function pinsBaseImages(file: Dockerfile): string[] {
  const stageNames = new Set(file.stages.map((stage) => stage.name).filter((name) => name !== undefined));
  const problems: string[] = [];
  for (const stage of file.stages) {
    if (stageNames.has(stage.image)) continue;
    const [reference = '', digest] = stage.image.split('@');
    const tag = reference.includes(':') ? reference.slice(reference.lastIndexOf(':') + 1) : '';
    if (tag === '' && digest === undefined) problems.push(`${stage.image}: no tag means latest`);
    else if (tag === 'latest' || /(^|-)(lts|current)(-|$)/.test(tag)) problems.push(`${stage.image}: a moving tag`);
    else if (!/^\d+\.\d+\.\d+(-|$)/.test(tag) && digest === undefined) problems.push(`${stage.image}: not pinned to an exact version (major.minor.patch)`);
  }
  return problems;
}

/** The final stage's node_modules must come from `npm ci --omit=dev`, never from a full install. */
function shipsProductionDependenciesOnly(file: Dockerfile): string[] {
  const final = file.stages.at(-1);
  if (final === undefined) return ['no FROM'];
  const installsProductionOnly = (stage: Stage) =>
    stage.instructions.some((instruction) => instruction.keyword === 'RUN' && /\bnpm ci\b[^&;|]*--omit=dev\b/.test(instruction.args));
  if (installsProductionOnly(final)) return [];
  const copies = final.instructions.filter((instruction) => instruction.keyword === 'COPY' && /node_modules/.test(instruction.args));
  if (copies.length === 0) return ['the final stage neither runs npm ci --omit=dev nor copies node_modules from a stage that does'];
  const problems: string[] = [];
  for (const copy of copies) {
    const from = /--from=(\S+)/.exec(copy.args)?.[1];
    const source = file.stages.find((stage) => stage.name === from);
    if (source === undefined || !installsProductionOnly(source)) problems.push(`line ${copy.line}: node_modules copied from "${from ?? 'the build context'}", which does not run npm ci --omit=dev`);
  }
  if (final.instructions.some((instruction) => instruction.keyword === 'RUN' && /\b(build-essential|g\+\+|gcc|python3)\b/.test(instruction.args))) {
    problems.push('the final stage installs build tools');
  }
  return problems;
}

function checksItsHealth(file: Dockerfile): string[] {
  const final = file.stages.at(-1);
  const healthcheck = final?.instructions.filter((instruction) => instruction.keyword === 'HEALTHCHECK').at(-1);
  if (healthcheck === undefined) return ['the final stage has no HEALTHCHECK'];
  if (/^NONE\b/i.test(healthcheck.args)) return ['HEALTHCHECK NONE'];
  const script = /["\s]((?:\.\/)?scripts\/[\w.-]+\.m?js)\b/.exec(healthcheck.args)?.[1];
  if (script !== undefined && !existsSync(path.join(repoRoot, script))) return [`the health check script ${script} does not exist`];
  return [];
}

function writesOnlyToTheDataVolume(file: Dockerfile): string[] {
  const final = file.stages.at(-1);
  if (final === undefined) return ['no FROM'];
  const problems: string[] = [];
  const volumes = final.instructions.filter((instruction) => instruction.keyword === 'VOLUME').map((instruction) => instruction.args.replace(/[[\]",]/g, ' ').trim());
  if (!volumes.some((volume) => volume.split(/\s+/).includes('/data'))) problems.push('no VOLUME /data');
  const env = new Map(final.instructions.filter((instruction) => instruction.keyword === 'ENV').flatMap(assignments));
  if (env.get('PORTCULLIS_DATA_DIR') !== '/data') problems.push('PORTCULLIS_DATA_DIR is not /data');
  if (env.get('NODE_ENV') !== 'production') problems.push('NODE_ENV is not production');
  return problems;
}

function startsTheServerDirectly(file: Dockerfile): string[] {
  const cmd = file.stages.at(-1)?.instructions.filter((instruction) => instruction.keyword === 'CMD').at(-1);
  if (cmd === undefined) return ['no CMD'];
  let parsed: unknown;
  try {
    parsed = JSON.parse(cmd.args);
  } catch {
    return ['CMD is in shell form: signals would reach /bin/sh, not node'];
  }
  return JSON.stringify(parsed) === JSON.stringify(['node', 'dist/src/main.js', 'serve']) ? [] : [`CMD is ${cmd.args}`];
}

const checks = {
  runsAsNumericNonRootUser,
  addsNoUrls,
  bakesNoSecrets,
  pinsBaseImages,
  shipsProductionDependenciesOnly,
  checksItsHealth,
  writesOnlyToTheDataVolume,
  startsTheServerDirectly,
};

const dockerfile = parseDockerfile(readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8'));

describe('the Dockerfile', () => {
  it('has several stages, so the image is built apart from the compilers', () => {
    assert.ok(dockerfile.stages.length >= 2, `${dockerfile.stages.length} stage(s)`);
  });

  it('runs the final stage as a numeric, non-root user, set after the last RUN', () => {
    assert.deepEqual(runsAsNumericNonRootUser(dockerfile), []);
  });

  it('never ADDs anything from a URL', () => {
    assert.deepEqual(addsNoUrls(dockerfile), []);
  });

  it('bakes no secret into ENV, ARG or a copied file', () => {
    assert.deepEqual(bakesNoSecrets(dockerfile), []);
  });

  it('pins every base image to an exact version, never latest or a bare major', () => {
    assert.deepEqual(pinsBaseImages(dockerfile), []);
    for (const stage of dockerfile.stages) assert.ok(stage.image !== '', 'every FROM names an image (ARGs resolved)');
  });

  it('ships only production dependencies, from npm ci --omit=dev, and no build tools', () => {
    assert.deepEqual(shipsProductionDependenciesOnly(dockerfile), []);
  });

  it('declares a HEALTHCHECK whose script exists', () => {
    assert.deepEqual(checksItsHealth(dockerfile), []);
  });

  it('keeps its state in a /data volume and runs in production mode', () => {
    assert.deepEqual(writesOnlyToTheDataVolume(dockerfile), []);
  });

  it('starts node directly with the serve command, in exec form', () => {
    assert.deepEqual(startsTheServerDirectly(dockerfile), []);
  });

  it('catches each of these mistakes in a careless Dockerfile', () => {
    const careless = parseDockerfile(`FROM node
ARG NPM_TOKEN=abc123
ENV NODE_ENV=development SESSION_SECRET="hunter2"
WORKDIR /app
ADD https://example.com/tool.tar.gz /tmp/
COPY . .
COPY .env ./
RUN npm install && npm run build
HEALTHCHECK NONE
CMD npm start
`);
    for (const [name, check] of Object.entries(checks)) {
      assert.notDeepEqual(check(careless), [], `${name} must flag the careless Dockerfile`);
    }
    assert.equal(bakesNoSecrets(careless).length, 3, bakesNoSecrets(careless).join('\n'));
    assert.deepEqual(pinsBaseImages(parseDockerfile('FROM node:24-bookworm-slim\n')), ['node:24-bookworm-slim: not pinned to an exact version (major.minor.patch)']);
    assert.deepEqual(runsAsNumericNonRootUser(parseDockerfile('FROM node:24.1.0\nUSER 0:0\n')), ['USER is uid 0', 'USER is in group 0']);
  });
});

describe('the .dockerignore', () => {
  const ignored = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

  for (const entry of ['.env', 'data', '.git', 'node_modules', 'dist', '*.pem', '*.key']) {
    it(`keeps ${entry} out of the build context`, () => {
      assert.ok(
        ignored.some((pattern) => pattern.replace(/^\/|\/$/g, '') === entry),
        `.dockerignore lists ${entry}`,
      );
      assert.ok(!ignored.includes(`!${entry}`), `.dockerignore does not re-include ${entry}`);
    });
  }
});
