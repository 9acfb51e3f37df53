// test/transport/observatory.test.ts
// Practice 4, checked from outside: the MDN HTTP Observatory scanner grades a running Portcullis
// exactly as it grades a public site. Threat: a header regression (CSP loosened, HSTS dropped,
// framing allowed) that unit tests of single headers would not add up.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatObservatoryTests, scanWithObservatory, type ObservatoryReport } from '../helpers/observatory.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

describe('the MDN HTTP Observatory', () => {
  let server: TestServer;
  let report: ObservatoryReport;
  before(async () => {
    server = await startTestServer();
    report = await scanWithObservatory(`127.0.0.1:${server.port}`, path.join(server.dataDir, 'tls', 'cert.pem'));
  });
  after(async () => {
    await server.close();
  });

  it('grades the server A+ with a score of at least 100', () => {
    const summary = `grade ${report.scan.grade}, score ${report.scan.score}\n${formatObservatoryTests(report)}`;
    assert.equal(report.scan.grade, 'A+', summary);
    assert.ok(report.scan.score >= 100, summary);
    assert.equal(report.scan.statusCode, 200, 'the scanner reached the page itself over verified HTTPS');
  });

  it('finds no test with a negative score modifier and passes every test', () => {
    const tests = Object.entries(report.tests);
    assert.ok(tests.length >= 10, `the scanner ran its tests (${tests.length})`);
    const penalised = tests.filter(([, test]) => test.scoreModifier < 0 || !test.pass);
    assert.deepEqual(penalised.map(([name]) => name), [], formatObservatoryTests(report));
  });

  it('scores HSTS as valid, so the certificate was trusted and not skipped', () => {
    const hsts = report.tests['strict-transport-security'];
    assert.ok(hsts !== undefined);
    assert.equal(hsts.result, 'hsts-implemented-max-age-at-least-six-months', formatObservatoryTests(report));
  });
});
