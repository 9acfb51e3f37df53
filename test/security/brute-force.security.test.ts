// test/security/brute-force.security.test.ts
// Threat: password guessing against one account (brute force) and against many (credential
// stuffing), and its mirror image: an attacker who guesses on purpose to lock the real owner out.
// After five wrong passwords an account's sign-ins from unknown browsers are delayed (and not even
// evaluated), while the owner's browser, which carries a signed device cookie from an earlier
// sign-in, gets straight in. A refusal for throttling is indistinguishable from a wrong password in
// status, body and timing. The owner gets one email with a single-use link that lifts the delays.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSignInThrottle } from '../../src/security/brute-force.js';
import { createDeviceCookies, deviceCookieName } from '../../src/security/device-cookie.js';
import { createKyselyBruteForceStore } from '../../src/storage/brute-force/kysely-brute-force-store.js';
import { openTestDb } from '../helpers/databases.js';
import type { TestResponse } from '../helpers/https-client.js';
import { passwords, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';
import { errorOf, type WebClient } from '../web/support/client.js';

const attacker = { 'x-forwarded-for': '203.0.113.66' };
const owner = { 'x-forwarded-for': '198.51.100.20' };

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

describe('per-account sign-in throttling', () => {
  let harness: AccountsHarness;
  before(async () => {
    harness = await startAccountsHarness({ PORTCULLIS_TRUST_PROXY: '127.0.0.1' });
  });
  after(async () => {
    await harness.close();
  });

  const createUser = (email: string) => harness.server.server.accounts.createUser({ email, password: passwords.first, role: 'user', emailVerified: true });
  const apiSignIn = (client: WebClient, email: string, password: string, from: Record<string, string>) => client.api('POST', '/auth/sign-in', { email, password }, { headers: from });
  const auditReasons = async (userId: string) => {
    const rows = await harness.server.server.db.selectFrom('audit_events').select(['type', 'outcome', 'detail']).where('subject_id', '=', userId).orderBy('at').execute();
    return rows.filter((row) => row.type === 'sign_in').map((row) => (row.outcome === 'success' ? 'success' : String((JSON.parse(row.detail ?? '{}') as { reason?: string }).reason)));
  };
  const guessFiveTimes = async (email: string) => {
    const client = harness.client();
    for (let index = 0; index < 5; index += 1) assert.equal((await apiSignIn(client, email, `wrong guess number ${index} here`, attacker)).status, 401);
    return client;
  };

  it('refuses the right password after five wrong ones exactly as it refuses a wrong one, without checking it', async () => {
    const user = await createUser('target1@example.com');
    const client = await guessFiveTimes('target1@example.com');
    const wrong = await apiSignIn(client, 'target1@example.com', 'yet another wrong guess', attacker);
    const right = await apiSignIn(client, 'target1@example.com', passwords.first, attacker);
    const unknown = await apiSignIn(client, 'nobody-at-all@example.com', passwords.first, attacker);
    for (const answer of [wrong, right, unknown]) {
      assert.equal(answer.status, 401);
      assert.deepEqual({ ...errorOf(answer), requestId: '' }, { code: 'INVALID_CREDENTIALS', message: 'The email address or password is not correct.', requestId: '' });
      assert.equal(answer.headers['content-type'], wrong.headers['content-type']);
      assert.equal(answer.headers['set-cookie'], undefined, 'no cookie set on any refusal');
    }
    assert.deepEqual(await auditReasons(user.id), [...Array<string>(5).fill('wrong_password'), 'account_throttled', 'account_throttled']);
  });

  it('lets the owner\'s browser in with its device cookie while unknown browsers wait', async () => {
    await createUser('target2@example.com');
    const ownBrowser = harness.client();
    const first = await ownBrowser.signIn('target2@example.com', passwords.first);
    const deviceCookie = (first.headers['set-cookie'] ?? []).find((line) => line.startsWith(`${deviceCookieName}=`));
    assert.ok(deviceCookie, 'a device cookie is issued at sign-in');
    assert.match(deviceCookie, /^__Host-r=1\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}\.[0-9a-z]+\.[A-Za-z0-9_-]{43}; Max-Age=7776000; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=Strict$/);
    await ownBrowser.get('/account');
    assert.equal((await ownBrowser.submit('/sign-out', {})).status, 303, 'signed out: the device cookie stays');

    await guessFiveTimes('target2@example.com');
    const newBrowser = harness.client();
    assert.equal((await apiSignIn(newBrowser, 'target2@example.com', passwords.first, owner)).status, 401, 'an unknown browser waits, even with the right password');
    await ownBrowser.get('/sign-in');
    const again = await ownBrowser.submit('/sign-in', { email: 'target2@example.com', password: passwords.first, return: '/account' }, { headers: owner });
    assert.equal(again.status, 303, 'the owner\'s browser is let in at once');
    assert.equal((await ownBrowser.get('/account')).status, 200);
    assert.equal((await apiSignIn(harness.client(), 'target2@example.com', passwords.first, owner)).status, 401, 'and unknown browsers still wait afterwards');
  });

  it('gives nothing for a forged device cookie, or for one that belongs to another account', async () => {
    await createUser('target3@example.com');
    await createUser('attacker-own@example.com');
    const attackerBrowser = harness.client();
    await attackerBrowser.signIn('attacker-own@example.com', passwords.first);
    await guessFiveTimes('target3@example.com');
    assert.equal((await apiSignIn(attackerBrowser, 'target3@example.com', passwords.first, attacker)).status, 401, 'another account\'s cookie does not vouch');
    const forged = harness.client();
    const key = Buffer.alloc(32, 7);
    const user = await harness.server.server.db.selectFrom('users').select(['id', 'password_changed_at']).where('email', '=', 'target3@example.com').executeTakeFirstOrThrow();
    const value = createDeviceCookies(key).issue({ id: user.id, passwordChangedAt: user.password_changed_at });
    const answer = await forged.request('/api/v1/auth/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: harness.server.config.publicOrigin, cookie: `${deviceCookieName}=${value}`, ...attacker },
      body: JSON.stringify({ email: 'target3@example.com', password: passwords.first }),
    });
    assert.equal(answer.status, 401, 'a cookie signed with another key is ignored');
  });

  it('emails the owner once, with a link that lifts the delays once', async () => {
    const user = await createUser('target4@example.com');
    await guessFiveTimes('target4@example.com');
    const { message, link } = await harness.linkFromEmail('target4@example.com', '/unlock-account', /slowed down/);
    assert.match(message.text, /wrong password for your Portcullis account 5 times in a row/);
    assert.match(message.text, /Browsers you signed in with before keep working/);
    const guesser = harness.client();
    for (let index = 0; index < 10; index += 1) await apiSignIn(guesser, 'target4@example.com', `more guessing ${index}`, attacker);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(harness.smtp.messages.filter((received) => received.to.includes('target4@example.com') && /slowed down/.test(received.subject)).length, 1, 'one email for the episode');

    const browser = harness.client();
    const page = await browser.get(link.pathname + link.search);
    assert.equal(page.status, 200, 'opening the link only shows a button');
    assert.equal((await apiSignIn(harness.client(), 'target4@example.com', passwords.first, owner)).status, 401, 'still delayed until the button is pressed');
    const unlocked = await browser.submit('/unlock-account', { token: link.searchParams.get('token') ?? '' });
    assert.equal(unlocked.status, 303);
    assert.equal(unlocked.headers.location, '/sign-in');
    assert.equal((await apiSignIn(harness.client(), 'target4@example.com', passwords.first, owner)).status, 200, 'a new browser gets in after the unlock');
    await browser.get(link.pathname + link.search);
    const replay = await browser.submit('/unlock-account', { token: link.searchParams.get('token') ?? '' });
    assert.equal(replay.status, 400, 'the link works once');
    const events = await harness.server.server.db.selectFrom('audit_events').select(['type', 'outcome']).where('subject_id', '=', user.id).execute();
    assert.ok(events.some((event) => event.type === 'sign_in_throttled' && event.outcome === 'failure'));
    assert.ok(events.some((event) => event.type === 'sign_in_unlocked' && event.outcome === 'success'));
  });

  it('lifts the delays when the owner resets the password by email', async () => {
    await createUser('target5@example.com');
    await guessFiveTimes('target5@example.com');
    await harness.smtp.waitForMessage('target5@example.com', (received) => /slowed down/.test(received.subject));
    const browser = harness.client();
    await browser.get('/forgot-password');
    await browser.submit('/forgot-password', { email: 'target5@example.com' }, { headers: owner });
    const { link } = await harness.linkFromEmail('target5@example.com', '/reset-password');
    await browser.get(link.pathname + link.search);
    const reset = await browser.submit('/reset-password', { token: link.searchParams.get('token') ?? '', newPassword: passwords.second }, { headers: owner });
    assert.equal(reset.status, 303);
    assert.equal((await apiSignIn(harness.client(), 'target5@example.com', passwords.second, owner)).status, 200);
  });

  it('answers a throttled attempt in the time a wrong password takes', async (t) => {
    await createUser('timed-throttled@example.com');
    await guessFiveTimes('timed-throttled@example.com');
    const victims = 12;
    for (let index = 0; index < victims; index += 1) await createUser(`timed-${index}@example.com`);
    const time = async (email: string): Promise<number> => {
      const started = process.hrtime.bigint();
      const answer: TestResponse = await apiSignIn(harness.client(), email, 'a wrong password, timed', { 'x-forwarded-for': `192.0.2.${(Math.random() * 200 + 1).toFixed(0)}` });
      assert.equal(answer.status, 401);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const throttled: number[] = [];
    const wrong: number[] = [];
    for (let round = 0; round < 2 * victims; round += 1) {
      // Each victim gets two wrong passwords: never five, so never throttled itself.
      const victim = `timed-${round % victims}@example.com`;
      if (round % 2 === 0) {
        throttled.push(await time('timed-throttled@example.com'));
        wrong.push(await time(victim));
      } else {
        wrong.push(await time(victim));
        throttled.push(await time('timed-throttled@example.com'));
      }
    }
    const a = median(throttled);
    const b = median(wrong);
    // Each round's two answers were timed back to back, under the same load: the median of their
    // differences cancels what the rest of the machine is doing, which the medians alone do not.
    const gap = median(throttled.map((value, index) => value - (wrong.at(index) ?? value)));
    t.diagnostic(`median: throttled ${a.toFixed(1)} ms, wrong password ${b.toFixed(1)} ms, paired difference ${gap.toFixed(1)} ms`);
    assert.ok(Math.abs(gap) <= Math.max(8, 0.25 * Math.min(a, b)), `throttled ${a.toFixed(1)} ms vs wrong ${b.toFixed(1)} ms (paired difference ${gap.toFixed(1)} ms)`);
  });
});

describe('per-address throttling (credential stuffing)', () => {
  let harness: AccountsHarness;
  before(async () => {
    harness = await startAccountsHarness({ PORTCULLIS_TRUST_PROXY: '127.0.0.1', PORTCULLIS_SIGN_IN_IP_MAX_FAILURES: '5' });
  });
  after(async () => {
    await harness.close();
  });

  it('stops evaluating an address that failed on many accounts, and only that address', async () => {
    const accounts = harness.server.server.accounts;
    const user = await accounts.createUser({ email: 'stuffed@example.com', password: passwords.first, role: 'user', emailVerified: true });
    const ownBrowser = harness.client();
    await ownBrowser.signIn('stuffed@example.com', passwords.first);
    const stuffer = harness.client();
    const from = { 'x-forwarded-for': '203.0.113.200' };
    for (let index = 0; index < 5; index += 1) {
      assert.equal((await stuffer.api('POST', '/auth/sign-in', { email: `leaked-${index}@example.com`, password: `leaked password ${index}` }, { headers: from })).status, 401);
    }
    const hit = await stuffer.api('POST', '/auth/sign-in', { email: 'stuffed@example.com', password: passwords.first }, { headers: from });
    assert.equal(hit.status, 401, 'even a leaked pair that works is not evaluated from this address now');
    assert.equal(errorOf(hit).code, 'INVALID_CREDENTIALS');
    assert.equal((await harness.client().api('POST', '/auth/sign-in', { email: 'stuffed@example.com', password: passwords.first }, { headers: { 'x-forwarded-for': '198.51.100.99' } })).status, 200, 'another address is unaffected');
    const viaDevice = await ownBrowser.api('POST', '/auth/sign-in', { email: 'stuffed@example.com', password: passwords.first }, { headers: from });
    assert.equal(viaDevice.status, 200, 'the owner behind the same address still gets in with the device cookie');
    const detail = await harness.server.server.db.selectFrom('audit_events').select('detail').where('subject_id', '=', user.id).where('type', '=', 'sign_in').where('outcome', '=', 'failure').executeTakeFirstOrThrow();
    assert.match(detail.detail ?? '', /"reason":"address_throttled"/);
  });
});

describe('the second-factor hook', () => {
  it('counts wrong codes per account like passwords, and stops calling the check once throttled', async () => {
    const testDb = await openTestDb();
    try {
      const store = createKyselyBruteForceStore(testDb.db);
      const sent: string[] = [];
      const throttle = createSignInThrottle({
        config: { throttleAfter: 5, baseDelayMs: 60_000, maxDelayMs: 3_600_000, maxConsecutiveFailures: 100, deviceMaxFailures: 10, deviceWindowMs: 3_600_000, ipMaxFailures: 1000, ipWindowMs: 3_600_000 },
        store,
        devices: createDeviceCookies(Buffer.alloc(32, 1)),
        signIn: () => Promise.reject(new Error('not used')),
        recordEvent: () => Promise.resolve(),
        findAccountByEmail: () => Promise.resolve(undefined),
        findAccountById: (id) => Promise.resolve({ id, email: 'mfa@example.com', displayName: null, passwordChangedAt: 1 }),
        spendHashTime: () => Promise.resolve(),
        deliver: (message) => sent.push(message.subject),
        templates: { siteName: 'Portcullis', publicOrigin: 'https://localhost:8443' },
        logger: (await import('../../src/observability/logger.js')).createLogger({ level: 'silent', pretty: false }),
      });
      const context = { meta: { ip: '203.0.113.5', userAgent: 'test' }, device: undefined };
      let checks = 0;
      const wrongCode = () => {
        checks += 1;
        return Promise.resolve(false);
      };
      for (let index = 0; index < 8; index += 1) assert.equal(await throttle.secondFactor('user-mfa', context, wrongCode), false);
      assert.equal(checks, 5, 'the sixth to eighth codes were never checked');
      assert.deepEqual(sent, ['Sign-ins to your Portcullis account are being slowed down']);
      assert.equal((await store.state('second-factor:user-mfa'))?.untrustedFailures, 5);
      assert.equal(await store.state('user-mfa'), undefined, 'the password count is separate');
    } finally {
      await testDb.close();
    }
  });
});

describe('the account the throttle reads', () => {
  it('is handed to the domain sign-in with its normalised address, so it is read once', async () => {
    const testDb = await openTestDb();
    try {
      const found = { id: 'user-once', email: 'once@example.com', displayName: null, passwordChangedAt: 1 };
      const handed: unknown[] = [];
      const throttle = createSignInThrottle({
        config: { throttleAfter: 5, baseDelayMs: 60_000, maxDelayMs: 3_600_000, maxConsecutiveFailures: 100, deviceMaxFailures: 10, deviceWindowMs: 3_600_000, ipMaxFailures: 1000, ipWindowMs: 3_600_000 },
        store: createKyselyBruteForceStore(testDb.db),
        devices: createDeviceCookies(Buffer.alloc(32, 1)),
        signIn: (_credentials, _meta, lookedUp) => {
          handed.push(lookedUp);
          return Promise.resolve({ id: found.id, email: found.email, displayName: null, role: 'user', emailVerified: true, disabled: false, createdAt: 1, passwordChangedAt: 1 });
        },
        recordEvent: () => Promise.resolve(),
        findAccountByEmail: (email) => Promise.resolve(email === found.email ? found : undefined),
        findAccountById: () => Promise.resolve(undefined),
        spendHashTime: () => Promise.resolve(),
        deliver: () => undefined,
        templates: { siteName: 'Portcullis', publicOrigin: 'https://localhost:8443' },
        logger: (await import('../../src/observability/logger.js')).createLogger({ level: 'silent', pretty: false }),
      });
      const context = { meta: { ip: '203.0.113.6', userAgent: 'test' }, device: undefined };
      await throttle.signIn({ email: ' ONCE@example.com', password: 'whatever it is' }, context);
      await throttle.signIn({ email: 'nobody@example.com', password: 'whatever it is' }, context);
      await throttle.signIn({ email: 42 as unknown as string, password: 'whatever it is' }, context);
      assert.deepEqual(handed, [{ email: 'once@example.com', account: found }, { email: 'nobody@example.com', account: undefined }, undefined]);
      assert.equal(handed[0] !== undefined && (handed[0] as { account: unknown }).account, found, 'the very object the throttle read');
    } finally {
      await testDb.close();
    }
  });
});
