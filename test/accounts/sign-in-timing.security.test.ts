// test/accounts/sign-in-timing.security.test.ts
// Threat: user enumeration by timing. If sign-in answered faster for an unknown email than for a
// wrong password (no hash to compute), an attacker could tell who has an account. The service
// spends one dummy verification with the live parameters for unknown emails. This compares the
// median time of each over 30 tries, interleaved, at the service level (bcrypt cost 10 here).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { codeOf, createHarness, createVerifiedUser, meta, otherStrongPassword, type Harness } from './harness.js';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted.at(middle) ?? 0) : ((sorted.at(middle - 1) ?? 0) + (sorted.at(middle) ?? 0)) / 2;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

describe('sign-in timing', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
    await createVerifiedUser(h, 'known@example.com');
    // Warm up: the dummy hash, the JIT, the prepared statements.
    for (let index = 0; index < 3; index += 1) {
      await codeOf(() => h.service.signIn({ email: 'unknown@example.com', password: otherStrongPassword }, meta));
      await codeOf(() => h.service.signIn({ email: 'known@example.com', password: otherStrongPassword }, meta));
    }
  });
  after(async () => {
    await h.close();
  });

  it('cannot tell an unknown email from a wrong password by the median time', async () => {
    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let index = 0; index < 30; index += 1) {
      // Interleaved, so a burst of load on the machine hits both series alike.
      unknown.push(await timed(() => codeOf(() => h.service.signIn({ email: `unknown${index}@example.com`, password: otherStrongPassword }, meta))));
      wrong.push(await timed(() => codeOf(() => h.service.signIn({ email: 'known@example.com', password: otherStrongPassword }, meta))));
    }
    const unknownMedian = median(unknown);
    const wrongMedian = median(wrong);
    process.stdout.write(`# sign-in medians: unknown email ${unknownMedian.toFixed(1)} ms, wrong password ${wrongMedian.toFixed(1)} ms\n`);
    // Without the dummy hash the unknown email would take well under a millisecond against tens
    // for the hash; the tolerance (25% or 15 ms, whichever is larger) absorbs a busy 2-core machine.
    const tolerance = Math.max(15, 0.25 * Math.max(unknownMedian, wrongMedian));
    assert.ok(Math.abs(unknownMedian - wrongMedian) <= tolerance, `medians differ by ${Math.abs(unknownMedian - wrongMedian).toFixed(1)} ms (tolerance ${tolerance.toFixed(1)} ms)`);
    assert.ok(unknownMedian > 5, `an unknown email took only ${unknownMedian.toFixed(2)} ms: no hash was computed`);
  });
});
