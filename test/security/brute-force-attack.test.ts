// test/security/brute-force-attack.test.ts
// Threat: an online guessing attack on one account, from one address and then spread over 50
// (the way a botnet or a proxy pool would), bounded to 2,000 guesses each on loopback. What
// matters is how many of the guesses were actually checked against the account's password: the
// per-address limits and the per-account delays must hold that to a handful, the right password
// hidden among the guesses must be refused like the rest, and the owner, whose browser signed in
// before, must keep signing in throughout. scripts/bench-brute-force.mjs prints the same figures.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runBruteForceAttack } from '../helpers/brute-force-attack.js';

describe('a bounded guessing attack against one account', () => {
  it('has at most a handful of 4,000 guesses evaluated, while the owner keeps signing in', async (t) => {
    const result = await runBruteForceAttack({ guesses: 2_000, addresses: 50, concurrency: 8, ownerEvery: 500, phaseTimeoutMs: 420_000, rightPasswordAt: 60 });
    for (const phase of result.phases) {
      t.diagnostic(
        `${phase.phase}: ${phase.sent} sent in ${(phase.durationMs / 1000).toFixed(1)} s; ${phase.rateLimited} rate-limited (429), ${phase.refused} refused (401); ` +
          `${phase.evaluated} evaluated against the account, ${phase.throttled} refused unevaluated; owner ${phase.ownerSucceeded}/${phase.ownerSignIns} signed in`,
      );
    }
    const [single, spread] = result.phases;
    assert.ok(single && spread);
    for (const phase of result.phases) {
      assert.equal(phase.sent, 2_000, `${phase.phase}: every guess was sent within the time bound`);
      assert.equal(phase.accepted, 0, `${phase.phase}: no guess signed in`);
      assert.equal(phase.otherStatus, 0, `${phase.phase}: only 401 and 429 answers`);
      assert.equal(phase.ownerSucceeded, phase.ownerSignIns, `${phase.phase}: the owner signed in every time`);
      assert.ok(phase.ownerSignIns >= 4);
    }
    // One address: 20 attempts pass the auth limit; the account stops evaluating after 5.
    assert.ok(single.rateLimited >= 1_980 - 1, `one address: ${single.rateLimited} rate-limited`);
    assert.equal(single.evaluated, 5);
    // Fifty addresses: each gets 20 attempts past the limit (1,000 in all), but the account is in
    // its delay; only a delay that ends during the run lets one more through.
    assert.ok(spread.rateLimited >= 1_000 - 1, `fifty addresses: ${spread.rateLimited} rate-limited`);
    assert.ok(spread.evaluated <= 2, `fifty addresses: ${spread.evaluated} evaluated`);
    assert.equal(result.rightPasswordStatus, 401, 'the right password among the guesses was refused unevaluated');
    assert.equal(result.emails, 1, 'the owner was emailed once');
    assert.ok(result.finalFailures !== undefined && result.finalFailures.untrustedFailures <= 7);
  });
});
