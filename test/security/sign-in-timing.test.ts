// test/security/sign-in-timing.test.ts
// Threat: user enumeration by timing. If signing in with an unknown email skipped the password
// hash, it would answer tens of milliseconds sooner than a wrong password for a real account, and
// anyone could list who has an account. Sign-in is timed over HTTPS for unknown emails, wrong
// passwords and disabled accounts, interleaved so machine load falls on all alike, and the
// medians must not be told apart. A request that does no hashing shows the test can see a gap.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { passwords, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';

/** Tries per kind. Medians of 40 are steady even on a busy 2-core machine. */
const tries = 40;
/** Real accounts the wrong passwords are spread over, so no single account sees 40 failures. */
const accountCount = 8;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 0 ? ((sorted.at(middle - 1) ?? 0) + (sorted.at(middle) ?? 0)) / 2 : (sorted.at(middle) ?? 0);
}

/**
 * How far apart two medians may be and still count as the same: a quarter of the smaller one, and
 * never less than 8 ms. Skipping the hash (bcrypt cost 10 plus the HMAC) saves far more than either.
 */
function tolerance(a: number, b: number): number {
  return Math.max(8, 0.25 * Math.min(a, b));
}

function shuffle<T>(items: readonly T[]): T[] {
  return items
    .map((item) => ({ item, key: Math.random() }))
    .sort((a, b) => a.key - b.key)
    .map(({ item }) => item);
}

type Kind = 'unknown email' | 'wrong password' | 'disabled account' | 'no hashing (malformed email)';

describe('sign-in timing does not reveal who has an account', () => {
  let harness: AccountsHarness;
  before(async () => {
    harness = await startAccountsHarness();
    const accounts = harness.server.server.accounts;
    for (let index = 0; index < accountCount; index += 1) {
      await accounts.createUser({ email: `real${index}@example.com`, password: passwords.first, role: 'user', emailVerified: true });
    }
    await accounts.createUser({ email: 'disabled@example.com', password: passwords.first, role: 'user', emailVerified: true });
    await harness.server.server.db.updateTable('users').set({ disabled_at: Date.now() }).where('email', '=', 'disabled@example.com').execute();
  });
  after(async () => {
    await harness.close();
  });

  async function timeSignIn(kind: Kind, index: number): Promise<number> {
    const body =
      kind === 'unknown email'
        ? { email: `nobody-${index}-${Date.now()}@example.com`, password: passwords.second }
        : kind === 'wrong password'
          ? { email: `real${index % accountCount}@example.com`, password: passwords.second }
          : kind === 'disabled account'
            ? { email: 'disabled@example.com', password: passwords.first }
            : { email: 'not an address', password: passwords.second };
    const client = harness.client();
    const started = process.hrtime.bigint();
    const answer = await client.api('POST', '/auth/sign-in', body);
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(answer.status, kind === 'no hashing (malformed email)' ? 400 : 401, kind);
    return elapsed;
  }

  it('answers unknown emails, wrong passwords and disabled accounts in times that cannot be told apart', async (t) => {
    const kinds: Kind[] = ['unknown email', 'wrong password', 'disabled account', 'no hashing (malformed email)'];
    // Warm up: TLS, the JIT, the database page cache, bcrypt's thread pool.
    for (const kind of kinds) for (let index = 0; index < 3; index += 1) await timeSignIn(kind, index);

    const samples = new Map<Kind, number[]>(kinds.map((kind) => [kind, []]));
    for (let round = 0; round < tries; round += 1) {
      // Every round measures each kind once, in a fresh random order: load spikes hit all kinds alike.
      for (const kind of shuffle(kinds)) samples.get(kind)?.push(await timeSignIn(kind, round));
    }
    const medians = new Map([...samples].map(([kind, values]) => [kind, median(values)]));
    const report = [...medians].map(([kind, value]) => `${kind}: ${value.toFixed(1)} ms`).join('; ');
    t.diagnostic(`medians over ${tries} tries each: ${report}`);
    const unknown = medians.get('unknown email') ?? 0;
    const wrong = medians.get('wrong password') ?? 0;
    const disabled = medians.get('disabled account') ?? 0;
    const fast = medians.get('no hashing (malformed email)') ?? 0;

    assert.ok(Math.abs(unknown - wrong) <= tolerance(unknown, wrong), `unknown email vs wrong password differ: ${report}`);
    assert.ok(Math.abs(disabled - wrong) <= tolerance(disabled, wrong), `disabled account vs wrong password differ: ${report}`);
    // The measurement has teeth: a request that skips the hash is clearly faster than the bar.
    assert.ok(wrong - fast > tolerance(fast, wrong), `the test could not see a missing hash: ${report}`);
  });
});
