// test/check/rate-limit.security.test.ts
// Threat: the checker itself used as a load generator against someone else's site. The rate-limit
// burst runs only when asked (--probe-rate-limit), only against this machine unless the operator
// says the site is theirs (--i-own-this-site), sends at most 200 requests and stops at the first 429.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { UrlCheckContext } from '../../src/check/context.js';
import { silentProgress } from '../../src/check/progress.js';
import { maxBurstRequests, rateLimitGroup } from '../../src/check/rate-limit.js';
import type { Report } from '../../src/check/report.js';
import { runUrlCheck } from '../../src/check/url-check.js';
import { startDefaultExpressApp, startHalfHardenedApp, type FixtureServer } from '../fixtures/check/servers.js';

const options = { extraCa: [], timeoutMs: 10_000, probeRateLimit: true, iOwnThisSite: false };

function rateLimit(report: Report) {
  const found = report.findings.find((finding) => finding.id === 'rate-limit');
  assert.ok(found);
  return found;
}

describe('the rate-limit burst', () => {
  let unlimited: FixtureServer;
  let limited: FixtureServer;
  before(async () => {
    [unlimited, limited] = await Promise.all([startDefaultExpressApp(), startHalfHardenedApp({ rateLimit: 60 })]);
  });
  after(async () => {
    await Promise.all([unlimited.close(), limited.close()]);
  });

  it('sends at most 200 requests to a site without limits, and fails it', async () => {
    const before = unlimited.requestCount();
    const report = await runUrlCheck(unlimited.url, options);
    const burst = unlimited.requestCount() - before;
    const finding = rateLimit(report);
    assert.equal(finding.status, 'fail');
    assert.match(finding.evidence, /^200 requests in \d+ ms: none refused with 429, no RateLimit headers$/);
    // The other probes add a few dozen requests; the burst itself is capped.
    assert.ok(burst <= maxBurstRequests + 60, `the server saw ${burst} requests`);
    assert.ok(burst >= maxBurstRequests, `the server saw ${burst} requests`);
  });

  it('stops at the first 429 and reports the RateLimit headers', async () => {
    const report = await runUrlCheck(limited.url, { ...options, extraCa: [limited.ca] });
    const finding = rateLimit(report);
    assert.equal(finding.status, 'pass');
    assert.match(finding.evidence, /^429 after \d+ requests in \d+ ms: ratelimit: limit=60, remaining=0/);
    // 60 allowed in all (the other probes use some), then the first 429: no more than the four
    // requests already in flight follow it.
    assert.ok(limited.requestCount() <= 60 + 1 + 3 + 10, `the server saw ${limited.requestCount()} requests`);
  });

  it('is not sent without --probe-rate-limit, though advertised limits are reported', async () => {
    const quiet = await startHalfHardenedApp({ rateLimit: 1_000 });
    try {
      const report = await runUrlCheck(quiet.url, { ...options, extraCa: [quiet.ca], probeRateLimit: false });
      const finding = rateLimit(report);
      assert.equal(finding.status, 'pass');
      assert.match(finding.evidence, /advertised on the first answer \(not probed\)/);
      assert.ok(quiet.requestCount() < 60, `the server saw ${quiet.requestCount()} requests`);
    } finally {
      await quiet.close();
    }
    const plain = await runUrlCheck(unlimited.url, { ...options, probeRateLimit: false });
    assert.equal(rateLimit(plain).status, 'not-checked');
  });

  it('is refused against a host that is not this machine without --i-own-this-site', async () => {
    const context = {
      target: { url: new URL('https://example.com/'), loopback: false, addresses: ['93.184.215.14'] },
      base: { headers: {} },
      options: { ...options, probeRateLimit: true, iOwnThisSite: false },
      progress: silentProgress,
      probe: () => {
        throw new Error('the burst must not send anything');
      },
    } as unknown as UrlCheckContext;
    const [finding] = await rateLimitGroup.run(context);
    assert.ok(finding);
    assert.equal(finding.status, 'not-checked');
    assert.match(finding.evidence, /not this machine .*--i-own-this-site was not given/);
  });
});
