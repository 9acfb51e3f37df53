// test/check/readers.test.ts
// The small readers the checks rely on: Set-Cookie, HTML tags, CSP, semver ranges, Dockerfiles,
// systemd units, lockfiles, source code, and the output helpers.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCsp } from '../../src/check/csp.js';
import { findTags, externalScripts, metaPolicies } from '../../src/check/html.js';
import { formatText } from '../../src/check/output/text.js';
import { terminalProgress } from '../../src/check/progress.js';
import { finalStageUser, isDockerfile, parseDockerfile } from '../../src/check/project/docker.js';
import { isProductionSource, objectSetsName, plainHttpServes, sessionCalls, stripComments } from '../../src/check/project/express-source.js';
import { lintLockfile } from '../../src/check/project/lockfile.js';
import { majorOfSpecifier, majorsAllowedBy, nodeImageMajor } from '../../src/check/project/node-version.js';
import { unitUser } from '../../src/check/project/systemd.js';
import type { Report } from '../../src/check/report.js';
import { CookieJar, parseSetCookie } from '../../src/check/set-cookie.js';
import { parseTargetUrl } from '../../src/check/target.js';

const now = new Date('2026-11-29T12:00:00Z');

describe('Set-Cookie', () => {
  it('reads the attributes by name, whatever their case', () => {
    const cookie = parseSetCookie('__Host-sid=s%3Aabc.def; path=/; HTTPONLY; secure; samesite=Strict');
    assert.ok(cookie);
    assert.deepEqual([cookie.name, cookie.path, cookie.httpOnly, cookie.secure, cookie.sameSite], ['__Host-sid', '/', true, true, 'strict']);
    assert.equal(cookie.redacted, '__Host-sid=…; path=/; HTTPONLY; secure; samesite=Strict', 'values stay out of the report');
  });

  it('treats an unknown SameSite as absent, and Max-Age=0 or a past Expires as a deletion', () => {
    assert.equal(parseSetCookie('a=1; SameSite=Sometimes')?.sameSite, undefined);
    assert.equal(parseSetCookie('a=; Max-Age=0')?.deletes, true);
    assert.equal(parseSetCookie('a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT')?.deletes, true);
    assert.equal(parseSetCookie('no-equals-sign'), undefined);
  });

  it('keeps the last cookie per name, domain and path, and drops ones a browser would refuse', () => {
    const jar = new CookieJar();
    const url = new URL('https://app.example.com/account/settings');
    jar.store('a=1', url);
    jar.store('a=2', url);
    jar.store('b=1; Domain=other.example.org', url);
    jar.store('__Host-c=1; Secure; Path=/; Domain=example.com', url);
    jar.store('__Secure-d=1', url);
    assert.deepEqual(
      jar.all().map((cookie) => `${cookie.name}=${cookie.value}@${cookie.jarPath}`),
      ['a=2@/account'],
    );
    assert.equal(jar.cookieHeaderFor(new URL('https://app.example.com/account/x')), 'a=2');
    assert.equal(jar.cookieHeaderFor(new URL('https://app.example.com/')), undefined);
  });
});

describe('HTML tags', () => {
  it('finds scripts and meta tags outside comments and script bodies, with any quoting', () => {
    const html = `<!doctype html><head>
      <!-- <script src="/commented.js"></script> -->
      <meta http-equiv="Content-Security-Policy" content="default-src 'none'">
      <meta name=referrer content=no-referrer>
      <script src='/a.js' integrity="sha384-x&amp;y"></script>
      <script>document.write('<script src="/written.js"></' + 'script>')</script>
      <SCRIPT SRC=/b.js></SCRIPT>`;
    assert.deepEqual(
      externalScripts(html).scripts.map((script) => [script.src, script.integrity]),
      [
        ['/a.js', 'sha384-x&y'],
        ['/b.js', undefined],
      ],
    );
    assert.equal(externalScripts(html).scriptElements, 3);
    assert.deepEqual(metaPolicies(html), { csp: ["default-src 'none'"], referrer: 'no-referrer' });
  });

  it('reads a ">" inside a quoted attribute as part of the value', () => {
    assert.equal(findTags('<meta content="a>b" name="x">', ['meta'])[0]?.attributes.get('content'), 'a>b');
  });
});

describe('CSP parsing', () => {
  it('lower-cases, reads an empty source list as none, and refuses a repeated directive', () => {
    const policy = parseCsp(["Default-Src 'NONE'; img-src; Script-Src https://CDN.example.com"]);
    assert.deepEqual([...(policy.get('default-src') ?? [])], ["'none'"]);
    assert.deepEqual([...(policy.get('img-src') ?? [])], ["'none'"]);
    assert.deepEqual([...(policy.get('script-src') ?? [])], ['https://cdn.example.com']);
    assert.throws(() => parseCsp(["script-src 'self'; script-src 'none'"]), /Duplicate directive/);
    assert.throws(() => parseCsp(['a']), /Invalid policy/);
  });

  it('keeps only what two policies both allow', () => {
    const policy = parseCsp(["script-src 'self' https://a.example", "script-src https://a.example https://b.example"]);
    assert.deepEqual([...(policy.get('script-src') ?? [])], ['https://a.example']);
  });
});

describe('Node.js versions', () => {
  it('reads the majors a semver range allows', () => {
    assert.deepEqual(majorsAllowedBy('^18 || ^22'), [18, 22]);
    assert.deepEqual(majorsAllowedBy('18.x'), [18]);
    assert.deepEqual(majorsAllowedBy('16 - 18'), [16, 17, 18]);
    assert.deepEqual(majorsAllowedBy('>=16 <19'), [16, 17, 18]);
    assert.deepEqual(majorsAllowedBy('>= 20.19.0 < 21'), [20]);
    assert.deepEqual(majorsAllowedBy('~20.1'), [20]);
    assert.deepEqual(majorsAllowedBy('>20'), Array.from({ length: 20 }, (_, index) => index + 21));
    assert.equal(majorsAllowedBy('>=20.19')?.[0], 20);
    assert.equal(majorsAllowedBy('*')?.[0], 0);
    assert.equal(majorsAllowedBy('lts'), undefined);
  });

  it('reads .nvmrc values and node image tags', () => {
    assert.deepEqual(majorOfSpecifier('v20.11.0', now), { major: 20, moving: false });
    assert.deepEqual(majorOfSpecifier('lts/iron', now), { major: 20, moving: false });
    assert.equal(majorOfSpecifier('node', now).moving, true);
    assert.deepEqual(nodeImageMajor('node:20-alpine', now), { major: 20, moving: false });
    assert.deepEqual(nodeImageMajor('docker.io/library/node:jod-slim', now), { major: 22, moving: false });
    assert.deepEqual(nodeImageMajor('gcr.io/distroless/nodejs22-debian12:nonroot', now), { major: 22, moving: false });
    assert.deepEqual(nodeImageMajor('node:alpine', now), { major: undefined, moving: true });
    assert.deepEqual(nodeImageMajor('node@sha256:abc', now), { major: undefined, moving: true });
    assert.equal(nodeImageMajor('python:3.12', now), undefined);
  });
});

describe('Dockerfiles', () => {
  it('recognises Dockerfiles, not files about them', () => {
    assert.deepEqual(
      ['Dockerfile', 'docker/Dockerfile.prod', 'api.Dockerfile', 'Containerfile', 'test/dockerfile.test.ts', 'docs/Dockerfile.md', 'test/fixtures/Dockerfile', 'examples/Dockerfile'].map(isDockerfile),
      [true, true, true, true, false, false, false, false],
    );
  });

  it("finds the final stage's user, through stages it builds on and build arguments", () => {
    const user = (text: string) => finalStageUser(parseDockerfile(text))?.user;
    assert.equal(user('FROM node:24\nUSER node\nFROM node:24\nCMD ["node"]'), undefined);
    assert.equal(user('FROM node:24 AS base\nUSER node\nFROM base\nCMD ["node"]'), 'node');
    assert.equal(user('ARG UID=10001\nFROM node:24\nARG UID\nUSER ${UID}:${UID}'), '10001:10001');
    assert.equal(user('FROM node:24\nUSER node\nRUN x \\\n  && y\nUSER root'), 'root');
    assert.equal(user('FROM gcr.io/distroless/nodejs22-debian12:nonroot\nCOPY . .'), 'the image default (non-root)');
    assert.equal(parseDockerfile('ARG IMAGE=node:18\nFROM --platform=$BUILDPLATFORM ${IMAGE} AS build').stages[0]?.image, 'node:18');
  });
});

describe('systemd units', () => {
  it('accepts DynamicUser or a non-root User in [Service], and nothing else', () => {
    assert.equal(unitUser('a.service', '[Service]\nDynamicUser=yes\n').ok, true);
    assert.equal(unitUser('a.service', '[Service]\nUser=app\n').ok, true);
    assert.equal(unitUser('a.service', '[Service]\nUser=app\nUser=root\n').ok, false);
    assert.equal(unitUser('a.service', '[Unit]\nUser=app\n[Service]\nExecStart=/bin/true\n').ok, false);
    assert.equal(unitUser('a.service', '[Service]\n# User=app\nDynamicUser=no\n').ok, false);
  });
});

describe('npm lockfiles', () => {
  it('lints v1 lockfiles too: nested dependencies, http URLs, missing and weak integrity', () => {
    const lock = {
      lockfileVersion: 1,
      dependencies: {
        a: { version: '1.0.0', resolved: 'https://registry.npmjs.org/a/-/a-1.0.0.tgz', integrity: 'sha512-x', dependencies: { b: { version: '1.0.0', resolved: 'http://registry.npmjs.org/b/-/b-1.0.0.tgz', integrity: 'sha512-y' } } },
        c: { version: '1.0.0', resolved: 'https://registry.npmjs.org/c/-/c-1.0.0.tgz' },
        d: { version: 'file:../d' },
        e: { version: '1.0.0', resolved: 'git+ssh://git@github.com/e/e.git#abc' },
      },
    };
    const [https, integrity] = lintLockfile('package-lock.json', lock);
    assert.ok(https && integrity);
    assert.equal(https.status, 'fail');
    assert.match(https.evidence, /2 not over https.*b \(http:.*e \(git\+ssh:/);
    assert.equal(integrity.status, 'fail');
    assert.match(integrity.evidence, /1 without integrity: c/);
  });
});

describe('Express source reading', () => {
  it('drops comments but keeps strings that contain //', () => {
    const code = stripComments("const a = 'https://x'; // session({ secret })\n/* app.listen(80) */ const b = `//`;");
    assert.match(code, /'https:\/\/x'/);
    assert.doesNotMatch(code, /session|listen/);
    assert.match(code, /`\/\/`/);
    assert.equal(code.split('\n').length, 2, 'line numbers survive');
  });

  it('finds session() calls and whether they name the cookie', () => {
    const calls = (code: string) => sessionCalls(stripComments(code)).map((call) => call.naming);
    assert.deepEqual(calls("import session from 'express-session';\napp.use(session({ secret: 's', cookie: { name: 'x' } }));"), ['default']);
    assert.deepEqual(calls("import session from 'express-session';\napp.use(session({ name: 'id', secret: 's' }));"), ['named']);
    assert.deepEqual(calls("const session = require('express-session');\nconst options = { secret: 's', name };\napp.use(session(options));"), ['named']);
    assert.deepEqual(calls("import session from 'express-session';\napp.use(session({ ...base }));"), ['unknown']);
    assert.deepEqual(calls("import session from 'express-session';\napp.use(session(makeOptions()));"), ['unknown']);
    assert.deepEqual(calls("app.use(require('express-session')({ secret: 's' }));"), ['default']);
    assert.deepEqual(calls("import type session from 'express-session';\nconst store: session.Store = x;"), []);
    assert.equal(objectSetsName("{ 'name': 'x' }"), 'named');
  });

  it('flags app.listen and createServer(app) only in files that start no HTTPS server', () => {
    const plain = "import express from 'express';\nconst app = express();\napp.listen(3000);";
    assert.deepEqual(plainHttpServes(plain), [{ line: 3, shown: 'app.listen(...)' }]);
    assert.deepEqual(plainHttpServes("import http from 'node:http';\nimport express from 'express';\nconst server = express();\nhttp.createServer(server).listen(80);"), [{ line: 4, shown: 'createServer(server)' }]);
    assert.deepEqual(plainHttpServes(`${plain}\nhttps.createServer(options, app).listen(443);`), []);
    assert.deepEqual(plainHttpServes("const app = createApp();\napp.listen(3000);"), []);
  });

  it('counts only production code', () => {
    assert.deepEqual(['src/app.ts', 'src/app.test.ts', 'test/server.js', 'scripts/seed.mjs', 'vite.config.ts', 'lib/index.cjs', 'README.md', 'types/x.d.ts'].map(isProductionSource), [true, false, false, false, false, true, false, false]);
  });
});

describe('targets and output', () => {
  it('reads a bare host as https and refuses what it cannot check', () => {
    assert.equal(parseTargetUrl('example.com').href, 'https://example.com/');
    assert.throws(() => parseTargetUrl('ftp://example.com/'), /only http:\/\/ and https:\/\//);
    assert.throws(() => parseTargetUrl('https://user:pass@example.com/'), /leave credentials out/);
  });

  it('draws the progress line only on a terminal, and clears it at the end', () => {
    const written: string[] = [];
    const terminal = terminalProgress({ isTTY: true, columns: 80, write: (text) => written.push(text) > 0 }, 'checking');
    terminal.start('tls');
    terminal.done('tls');
    terminal.stop();
    assert.match(written.join(''), /checking: 0 done, running tls…/);
    assert.ok(written.at(-1)?.startsWith('\r'));
    const piped: string[] = [];
    const quiet = terminalProgress({ isTTY: false, write: (text) => piped.push(text) > 0 }, 'checking');
    quiet.start('tls');
    quiet.stop();
    assert.deepEqual(piped, []);
  });

  it('prints evidence and fix for failures, only the title for passes', () => {
    const report: Report = {
      tool: { name: 'portcullis check', version: '0.0.0' },
      target: { kind: 'url', value: 'https://example.com/' },
      startedAt: now.toISOString(),
      durationMs: 1234,
      findings: [
        { practice: 4, id: 'csp', title: 'A CSP is enforced', severity: 'medium', status: 'fail', evidence: 'no Content-Security-Policy header', fix: "send default-src 'none'" },
        { practice: 4, id: 'x-powered-by', title: 'No X-Powered-By', severity: 'low', status: 'pass', evidence: 'absent', fix: '' },
      ],
      limits: ['A limit.'],
    };
    const text = formatText(report, { colour: false, failOn: 'high' });
    assert.match(text, /FAIL medium {2}A CSP is enforced \[csp\]\n {8}seen: no Content-Security-Policy header\n {8}fix: send default-src 'none'/);
    assert.match(text, /pass {2}No X-Powered-By \[x-powered-by\]\n\n/);
    assert.match(text, /1 passed, 1 failed, 0 warnings, 0 not checked: nothing fails at or above high\./);
    assert.match(formatText(report, { colour: false, failOn: 'medium' }), /1 finding fail at or above medium/);
    assert.ok(formatText(report, { colour: true, failOn: 'high' }).includes('\u001b[31m'));
  });
});
