// src/check/project/express-source.ts
// Express apps read statically: express-session without a `name` (the default connect.sid gives the
// stack away: practice 3), an Express app served with app.listen or http.createServer and no HTTPS
// server in the same file (practice 9), and no helmet anywhere (practice 4). A simple reading of the
// source: comments are dropped and calls are matched by name, so options built at run time, wrapper
// modules and re-exports are not followed; the evidence says how many files were read.

import type { Finding } from '../finding.js';
import { fail, notChecked, pass, warn, type CheckDefinition } from '../finding.js';
import { dependsOn, type ProjectCheckGroup, type ProjectContext } from './context.js';
import { isDeployedPath, lineOf } from './files.js';

export const expressChecks = {
  sessionName: { practice: 3, id: 'express-session-name', title: 'express-session is given its own cookie name', severity: 'medium' },
  plainHttp: { practice: 9, id: 'express-plain-http', title: 'The Express app is not served over plain HTTP', severity: 'medium' },
  helmet: { practice: 4, id: 'express-helmet', title: 'The Express app uses helmet', severity: 'medium' },
} as const satisfies Record<string, CheckDefinition>;

const sourceExtension = /\.(?:[cm]?js|[cm]?ts|jsx|tsx)$/;
const nonProductionName = /\.(?:test|spec|stories)\.[cm]?[jt]sx?$|(?:^|\/)[\w.-]+\.config\.[cm]?[jt]s$|\.d\.ts$/;
export const maxSourceFiles = 2_000;

export function isProductionSource(relative: string): boolean {
  return sourceExtension.test(relative) && isDeployedPath(relative) && !nonProductionName.test(relative);
}

/** Comments replaced by spaces (newlines kept, so offsets keep their line numbers); strings left alone. */
export function stripComments(source: string): string {
  let out = '';
  let i = 0;
  let quote: string | undefined;
  while (i < source.length) {
    const char = source.charAt(i);
    const next = source.charAt(i + 1);
    if (quote !== undefined) {
      out += char;
      if (char === '\\') {
        out += next;
        i += 2;
        continue;
      }
      if (char === quote) quote = undefined;
      i += 1;
      continue;
    }
    if (char === '"' || char === "'" || char === '`') {
      quote = char;
      out += char;
      i += 1;
      continue;
    }
    if (char === '/' && next === '/') {
      while (i < source.length && source.charAt(i) !== '\n') {
        out += ' ';
        i += 1;
      }
      continue;
    }
    if (char === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end === -1 ? source.length : end + 2;
      out += source.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
      continue;
    }
    out += char;
    i += 1;
  }
  return out;
}

/** The text between a "(" at `open` and its matching ")", skipping strings. */
export function argumentsAt(code: string, open: number): string | undefined {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < code.length; i++) {
    const char = code.charAt(i);
    if (quote !== undefined) {
      if (char === '\\') i += 1;
      else if (char === quote) quote = undefined;
      continue;
    }
    if (char === '"' || char === "'" || char === '`') quote = char;
    else if (char === '(' || char === '{' || char === '[') depth += 1;
    else if (char === ')' || char === '}' || char === ']') {
      depth -= 1;
      if (depth === 0) return code.slice(open + 1, i);
    }
  }
  return undefined;
}

/** Bindings of modules: import X from, import * as X from, const X = require(), const X = (await import()).default. */
const bindingPatterns: readonly RegExp[] = [
  // eslint-disable-next-line security/detect-unsafe-regex -- the optional group starts with "," and nothing before it can match one: linear
  /import\s+([A-Za-z_$][\w$]*)\s*(?:,\s*\{[^}]*\}\s*)?from\s*['"]([^'"]+)['"]/g,
  /import\s*\*\s*as\s+([A-Za-z_$][\w$]*)\s+from\s*['"]([^'"]+)['"]/g,
  /(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*require\(\s*['"]([^'"]+)['"]\s*\)/g,
  /(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*\(?\s*await\s+import\(\s*['"]([^'"]+)['"]\s*\)\s*\)?\.default/g,
];

/** Every module a file refers to: from '...', require('...'), import('...'), import '...'. */
const moduleReference = /\bfrom\s*['"]([^'"]+)['"]|\brequire\(\s*['"]([^'"]+)['"]\s*\)|\bimport\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

function sameModule(found: string | undefined, wanted: string): boolean {
  return found === wanted || found === `node:${wanted}`;
}

/** Local names a module is bound to. */
export function importedNames(code: string, moduleName: string): string[] {
  return bindingPatterns.flatMap((pattern) => [...code.matchAll(pattern)].filter((match) => sameModule(match[2], moduleName)).map((match) => match[1] ?? '')).filter((name) => name !== '');
}

export function importsModule(code: string, moduleName: string): boolean {
  return [...code.matchAll(moduleReference)].some((match) => [match[1], match[2], match[3], match[4]].some((found) => sameModule(found, moduleName)));
}

type SessionNaming = 'named' | 'default' | 'unknown';

/** Whether an options object literal sets `name` at its top level. */
export function objectSetsName(literal: string): SessionNaming {
  let inner = literal.trim().replace(/^\{/, '').replace(/\}$/, '');
  // Drop nested objects, arrays and calls: only top-level keys matter.
  for (let previous = ''; previous !== inner; ) {
    previous = inner;
    inner = inner.replace(/\{[^{}]*\}|\[[^[\]]*\]|\([^()]*\)/g, '');
  }
  if (inner.split(',').some((entry) => /^\s*(?:name|['"]name['"])\s*(?::|$)/.test(entry))) return 'named';
  if (inner.includes('...')) return 'unknown';
  return 'default';
}

export interface SessionCall {
  readonly line: number;
  readonly naming: SessionNaming;
  readonly shown: string;
}

/** Calls: an identifier not preceded by a dot, then "(". */
const callPattern = /(?<![\w$.])([A-Za-z_$][\w$]*)\s*\(/g;
const requireThenCall = /require\(\s*['"]express-session['"]\s*\)\s*\(/g;
/** const name = { ... (optionally with a type annotation). */
// eslint-disable-next-line security/detect-unsafe-regex -- anchored on a declaration keyword, the annotation is capped at 200 characters
const objectDeclaration = /(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=;]{0,200})?=\s*\{/g;

function namingOf(code: string, args: string): SessionNaming {
  if (args === '') return 'default';
  if (args.startsWith('{')) return objectSetsName(args);
  const variable = /^[A-Za-z_$][\w$]*/.exec(args)?.[0];
  const declaration = [...code.matchAll(objectDeclaration)].find((match) => match[1] === variable);
  const literal = declaration === undefined ? undefined : argumentsAt(code, declaration.index + declaration[0].length - 1);
  return literal === undefined ? 'unknown' : objectSetsName(`{${literal}}`);
}

export function sessionCalls(code: string): SessionCall[] {
  const names = new Set(importedNames(code, 'express-session'));
  const calls: SessionCall[] = [];
  const matches = [...[...code.matchAll(callPattern)].filter((match) => names.has(match[1] ?? '')), ...code.matchAll(requireThenCall)];
  for (const match of matches) {
    const index = match.index;
    const args = argumentsAt(code, index + match[0].length - 1)?.trim() ?? '';
    calls.push({ line: lineOf(code, index), naming: namingOf(code, args), shown: `${match[0]}${args.replace(/\s+/g, ' ').slice(0, 60)})` });
  }
  return calls;
}

export interface PlainHttpServe {
  readonly line: number;
  readonly shown: string;
}

/** const app = factory() (optionally with a type annotation). */
// eslint-disable-next-line security/detect-unsafe-regex -- anchored on a declaration keyword, the annotation is capped at 200 characters
const factoryCall = /(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=;]{0,200})?=\s*([A-Za-z_$][\w$]*)\s*\(\s*\)/g;
const listenCall = /(?<![\w$.])([A-Za-z_$][\w$]*)\.listen\s*\(/g;
const createServerCall = /\bcreateServer\s*\(\s*([A-Za-z_$][\w$]*)\s*[,)]/g;

/** app.listen(...) and http.createServer(app) on an Express app made in this file, when the file starts no HTTPS server. */
export function plainHttpServes(code: string): PlainHttpServe[] {
  if (/\bhttps\.createServer\s*\(|\bcreateSecureServer\s*\(/.test(code)) return [];
  const factories = new Set(importedNames(code, 'express'));
  const apps = new Set([...code.matchAll(factoryCall)].filter((match) => factories.has(match[2] ?? '')).map((match) => match[1] ?? ''));
  apps.delete('');
  const serves: PlainHttpServe[] = [];
  for (const match of code.matchAll(listenCall)) {
    const [, app = ''] = match;
    if (apps.has(app)) serves.push({ line: lineOf(code, match.index), shown: `${app}.listen(...)` });
  }
  for (const match of code.matchAll(createServerCall)) {
    const [, app = ''] = match;
    if (apps.has(app)) serves.push({ line: lineOf(code, match.index), shown: `createServer(${app})` });
  }
  return serves.sort((a, b) => a.line - b.line);
}

export interface SourceReading {
  readonly filesRead: number;
  readonly skipped: number;
  readonly usesExpress: boolean;
  readonly helmetFiles: string[];
  readonly sessions: { readonly file: string; readonly call: SessionCall }[];
  readonly plainHttp: { readonly file: string; readonly serve: PlainHttpServe }[];
}

export async function readSources(context: ProjectContext): Promise<SourceReading> {
  const candidates = context.files.filter(isProductionSource);
  const files = candidates.slice(0, maxSourceFiles);
  const reading: SourceReading = { filesRead: 0, skipped: candidates.length - files.length, usesExpress: false, helmetFiles: [], sessions: [], plainHttp: [] };
  let filesRead = 0;
  let usesExpress = false;
  for (const file of files) {
    const text = await context.read(file);
    if (text === undefined) continue;
    filesRead += 1;
    const code = stripComments(text);
    if (importsModule(code, 'express')) usesExpress = true;
    if (importsModule(code, 'helmet')) reading.helmetFiles.push(file);
    if (importsModule(code, 'express-session')) for (const call of sessionCalls(code)) reading.sessions.push({ file, call });
    for (const serve of plainHttpServes(code)) reading.plainHttp.push({ file, serve });
  }
  return { ...reading, filesRead, usesExpress };
}

export function expressFindings(context: ProjectContext, reading: SourceReading): Finding[] {
  const scope = `static reading of ${reading.filesRead} production source file${reading.filesRead === 1 ? '' : 's'}${reading.skipped > 0 ? ` (${reading.skipped} more not read)` : ''}; run-time options, wrappers and re-exports are not followed`;
  const findings: Finding[] = [];

  const unnamed = reading.sessions.filter(({ call }) => call.naming === 'default');
  const unknown = reading.sessions.filter(({ call }) => call.naming === 'unknown');
  const at = (list: readonly { file: string; call: SessionCall }[]) => list.map(({ file, call }) => ({ file, line: call.line }));
  const sessionFix = "pass a name that says nothing about the stack, and the cookie attributes with it: session({ name: '__Host-sid', cookie: { secure: true, httpOnly: true, sameSite: 'lax', path: '/' }, ... })";
  if (reading.sessions.length === 0) findings.push(pass(expressChecks.sessionName, `express-session is not called (${scope})`));
  else if (unnamed.length > 0) {
    findings.push(
      fail(expressChecks.sessionName, `${unnamed.map(({ file, call }) => `${file}:${call.line} ${call.shown}`).join('; ')}: no name, so the cookie is connect.sid (${scope})`, sessionFix, { locations: at(unnamed) }),
    );
  } else if (unknown.length > 0) {
    findings.push(
      warn(expressChecks.sessionName, `${unknown.map(({ file, call }) => `${file}:${call.line} ${call.shown}`).join('; ')}: options not readable here, check that they set name (${scope})`, sessionFix, {
        severity: 'low',
        locations: at(unknown),
      }),
    );
  } else {
    findings.push(pass(expressChecks.sessionName, `${reading.sessions.map(({ file, call }) => `${file}:${call.line}`).join(', ')} set name (${scope})`));
  }

  findings.push(
    reading.plainHttp.length === 0
      ? pass(expressChecks.plainHttp, `no Express app served with app.listen or http.createServer without an HTTPS server beside it (${scope})`)
      : fail(
          expressChecks.plainHttp,
          `${reading.plainHttp.map(({ file, serve }) => `${file}:${serve.line} ${serve.shown}`).join('; ')}: plain HTTP (${scope})`,
          'serve the app with https.createServer (TLS 1.2+), or, behind a TLS-terminating proxy, listen on loopback only, set trust proxy to the proxy hop and redirect HTTP to HTTPS at the proxy',
          { locations: reading.plainHttp.map(({ file, serve }) => ({ file, line: serve.line })) },
        ),
  );

  if (reading.helmetFiles.length > 0) findings.push(pass(expressChecks.helmet, `helmet imported in ${reading.helmetFiles.slice(0, 5).join(', ')} (${scope})`));
  else {
    findings.push(
      fail(
        expressChecks.helmet,
        `${dependsOn(context.packageJson, 'helmet') ? 'helmet is a dependency but no production source imports it' : 'no production source imports helmet'} (${scope})`,
        'npm install helmet and app.use(helmet()) before the routes, then tighten its CSP (default-src \'none\' and only what the pages use)',
        { locations: [{ file: 'package.json' }] },
      ),
    );
  }
  return findings;
}

export const expressSourceGroup: ProjectCheckGroup = {
  name: 'express source',
  practice: 4,
  async run(context) {
    const reading = await readSources(context);
    if (!dependsOn(context.packageJson, 'express') && !reading.usesExpress) {
      const reason = 'package.json does not depend on express and no production source imports it';
      return [notChecked(expressChecks.sessionName, reason), notChecked(expressChecks.plainHttp, reason), notChecked(expressChecks.helmet, reason)];
    }
    return expressFindings(context, reading);
  },
};
