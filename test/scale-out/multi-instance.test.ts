// test/scale-out/multi-instance.test.ts
// Two `portcullis serve` processes behind one (simulated) load balancer, sharing PostgreSQL and
// Redis. Whatever instance a request lands on, the answer is the same: a session made on one works
// on the other and ends on both when signed out on either; rate limits and sign-in failures are
// counted once, across both (an attacker gains nothing by spreading requests); and killing one
// instance outright in the middle of traffic loses nothing it had acknowledged.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openSharedServices, ProxiedClient, startInstances, stopInstances, type Instance, type SharedServices } from '../helpers/instances.js';

const password = 'violet kettle harbour 90 lamp';

describe('two instances sharing PostgreSQL and Redis', () => {
  let services: SharedServices;
  let instances: Instance[];
  let a: Instance;
  let b: Instance;
  before(async () => {
    services = await openSharedServices();
    instances = await startInstances(services, 2, { PORTCULLIS_RATE_LIMIT_AUTH_MAX: '6' });
    [a, b] = instances as [Instance, Instance];
  });
  after(async () => {
    await stopInstances(instances);
    await services.close();
  });

  it('serves a session made on one instance from the other, and ends it on both at sign-out', async () => {
    await services.createUser('roaming@example.com', password);
    const browser = new ProxiedClient('198.51.100.1');
    assert.equal((await browser.call(a.url, 'POST', '/auth/sign-in', { email: 'roaming@example.com', password })).status, 200);
    const onB = await browser.call(b.url, 'GET', '/me');
    assert.equal(onB.status, 200);
    assert.equal((onB.json() as { user: { email: string } }).user.email, 'roaming@example.com');
    assert.equal((await browser.call(b.url, 'POST', '/auth/sign-out')).status, 204);
    const stolen = new ProxiedClient('198.51.100.1');
    assert.equal((await browser.call(a.url, 'GET', '/me')).status, 401);
    assert.equal((await stolen.call(b.url, 'GET', '/me')).status, 401);
  });

  it('counts one client\'s requests once across both instances', async () => {
    const client = new ProxiedClient('198.51.100.50');
    const statuses: number[] = [];
    for (let index = 0; index < 8; index += 1) {
      const target = index % 2 === 0 ? a : b;
      statuses.push((await client.call(target.url, 'POST', '/auth/sign-in', { email: `nobody${index}@example.com`, password: 'not it at all 1234' })).status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 401, 429, 429], 'six attempts in all, not six per instance');
  });

  it('counts failed sign-ins on one account across both instances, and lets the owner\'s browser in on either', async () => {
    const user = await services.createUser('target@example.com', password);
    const owner = new ProxiedClient('198.51.100.77');
    assert.equal((await owner.call(b.url, 'POST', '/auth/sign-in', { email: 'target@example.com', password })).status, 200);
    assert.ok(owner.cookie('__Host-r'), 'the device cookie from B');
    for (let index = 0; index < 5; index += 1) {
      const guesser = new ProxiedClient(`203.0.113.${index + 1}`);
      const target = index % 2 === 0 ? a : b;
      assert.equal((await guesser.call(target.url, 'POST', '/auth/sign-in', { email: 'target@example.com', password: `guess ${index} is wrong` })).status, 401);
    }
    const late = new ProxiedClient('203.0.113.99');
    assert.equal((await late.call(a.url, 'POST', '/auth/sign-in', { email: 'target@example.com', password })).status, 401, 'the sixth try is delayed wherever it lands');
    assert.equal((await owner.call(a.url, 'POST', '/auth/sign-in', { email: 'target@example.com', password })).status, 200, 'B\'s device cookie is honoured by A');
    const reasons = await services.db.selectFrom('audit_events').select('detail').where('subject_id', '=', user.id).where('type', '=', 'sign_in').where('outcome', '=', 'failure').execute();
    const counted = reasons.map((row) => (JSON.parse(row.detail ?? '{}') as { reason?: string }).reason);
    assert.deepEqual(counted.filter((reason) => reason === 'wrong_password').length, 5);
    assert.deepEqual(counted.filter((reason) => reason === 'account_throttled').length, 1);
  });

  it('loses no acknowledged write when an instance is killed mid-traffic', async (t) => {
    await services.createUser('survivor@example.com', password);
    // Sessions acknowledged by A before it dies must work on B.
    const survivors = Array.from({ length: 3 }, (_, index) => new ProxiedClient(`198.51.100.${120 + index}`));
    for (const client of survivors) assert.equal((await client.call(a.url, 'POST', '/auth/sign-in', { email: 'survivor@example.com', password })).status, 200);

    const acknowledged: string[] = [];
    const statuses = new Map<string, number>();
    let failed = 0;
    let sent = 0;
    // An object, not a let: the workers set it, and the checks after them must not see a narrowed 'false'.
    const progress = { killed: false };
    const total = 60;
    const deadline = Date.now() + 120_000;
    const worker = async (lane: number) => {
      while (sent < total && Date.now() < deadline) {
        sent += 1;
        const number = sent;
        // A new address for each sign-up, so the per-address limits stay out of the way.
        const client = new ProxiedClient(`10.${lane}.${Math.floor(number / 250)}.${number % 250}`);
        const email = `burst-${number}@example.com`;
        const target = number % 2 === 0 ? a : b;
        try {
          const answer = await client.call(target.url, 'POST', '/auth/sign-up', { email, password });
          statuses.set(String(answer.status), (statuses.get(String(answer.status)) ?? 0) + 1);
          if (answer.status === 202) acknowledged.push(email);
          else failed += 1;
        } catch {
          // The connection died with A: not acknowledged, so nothing is promised.
          statuses.set('no answer', (statuses.get('no answer') ?? 0) + 1);
          failed += 1;
        }
        if (!progress.killed && acknowledged.length >= 15) {
          progress.killed = true;
          process.kill(a.process.pid, 'SIGKILL');
        }
      }
    };
    await Promise.all([1, 2, 3, 4].map((lane) => worker(lane)));
    const summary = [...statuses].map(([status, count]) => `${status}: ${count}`).join(', ');
    const killedMidTraffic = progress.killed;
    if (!killedMidTraffic) process.kill(a.process.pid, 'SIGKILL');
    assert.ok(killedMidTraffic, `A was to be killed after 15 acknowledged sign-ups; answers were ${summary}`);
    const exit = await a.process.exited;
    assert.equal(exit.signal, 'SIGKILL');
    assert.ok(acknowledged.length >= 20, `${acknowledged.length} sign-ups acknowledged`);
    assert.ok(failed > 0, 'some requests were in flight or aimed at the dead instance');

    const stored = await services.db.selectFrom('users').select('email').where('email', 'like', 'burst-%').execute();
    const present = new Set(stored.map((row) => row.email));
    const missing = acknowledged.filter((email) => !present.has(email));
    t.diagnostic(`${sent} sign-ups sent, ${acknowledged.length} acknowledged, ${failed} not (${summary}); ${present.size} stored; A killed after 15 acknowledgements`);
    assert.deepEqual(missing, [], 'every acknowledged sign-up is in the database');
    for (const client of survivors) assert.equal((await client.call(b.url, 'GET', '/me')).status, 200, 'sessions made on A live on in Redis');
  });
});
