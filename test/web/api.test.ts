// test/web/api.test.ts
// /api/v1 over HTTPS: the same flows as the pages with the same rules, errors as
// { error: { code, message, requestId, fields } }, and an OpenAPI 3.1 document of exactly these routes.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { internalsPattern } from '../helpers/test-server.js';
import { errorOf, type WebClient } from './support/client.js';
import { ageReauthentication, findUser, sessionExists } from './support/database.js';
import { passwords, startAccountsHarness, type AccountsHarness } from './support/harness.js';
import { servedRoutes } from './support/routes.js';

interface UserBody {
  user: { id: string; email: string; displayName: string | null; role: string; emailVerified: boolean; createdAt: string };
}
interface SessionsBody {
  sessions: { id: string; current: boolean; browser: string; os: string; ip: string | null; createdAt: string; lastSeenAt: string }[];
}

describe('JSON API /api/v1', () => {
  let harness: AccountsHarness;
  before(async () => {
    harness = await startAccountsHarness();
  });
  after(async () => {
    await harness.close();
  });

  async function apiUser(email: string, password: string = passwords.first): Promise<WebClient> {
    const client = harness.client();
    const signUp = await client.api('POST', '/auth/sign-up', { email, password });
    assert.equal(signUp.status, 202);
    const { link } = await harness.linkFromEmail(email, '/verify-email');
    const verified = await client.api('POST', '/auth/verify-email', { token: link.searchParams.get('token') });
    assert.equal(verified.status, 200);
    assert.equal((verified.json() as UserBody).user.emailVerified, true);
    await client.apiSignIn(email, password);
    return client;
  }

  it('signs up, verifies, signs in and reads /me with the session cookie', async () => {
    const client = await apiUser('api@example.com');
    const me = await client.api('GET', '/me');
    assert.equal(me.status, 200);
    const { user } = me.json() as UserBody;
    assert.equal(user.email, 'api@example.com');
    assert.equal(user.role, 'user');
    assert.match(user.createdAt, /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(Object.keys(user).sort(), ['createdAt', 'displayName', 'email', 'emailVerified', 'id', 'passwordChangedAt', 'role']);
    const cookie = String(me.headers['set-cookie'] ?? '');
    assert.doesNotMatch(cookie, /connect\.sid/);
  });

  it('answers sign-in failures with one code and one message', async () => {
    await apiUser('same@example.com');
    const bodies = [];
    for (const attempt of [
      { email: 'nobody@example.com', password: passwords.first },
      { email: 'same@example.com', password: passwords.second },
    ]) {
      const answer = await harness.client().api('POST', '/auth/sign-in', attempt);
      assert.equal(answer.status, 401);
      const error = errorOf(answer);
      bodies.push({ code: error.code, message: error.message });
      assert.match(error.requestId, /^[0-9a-f-]{36}$/);
    }
    assert.deepEqual(bodies[0], { code: 'INVALID_CREDENTIALS', message: 'The email address or password is not correct.' });
    assert.deepEqual(bodies[1], bodies[0]);
  });

  it('updates the profile and lists sessions with readable devices, the current one marked', async () => {
    const client = await apiUser('prof@example.com');
    const other = harness.client({ userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1' });
    await other.apiSignIn('prof@example.com', passwords.first);
    const patched = await client.api('PATCH', '/me', { displayName: '  Prof  ' });
    assert.equal(patched.status, 200);
    assert.equal((patched.json() as UserBody).user.displayName, 'Prof');
    assert.equal(((await client.api('PATCH', '/me', { displayName: null })).json() as UserBody).user.displayName, null);

    const { sessions } = (await client.api('GET', '/me/sessions')).json() as SessionsBody;
    assert.equal(sessions.length, 2);
    const current = sessions.find((session) => session.current);
    const phone = sessions.find((session) => !session.current);
    assert.equal(current?.id, client.hashedSessionId);
    assert.equal(current?.browser, 'Chrome 126');
    assert.ok(phone);
    assert.equal(phone.os, 'iOS 17.5');
    assert.equal(phone.browser, 'Safari 17');
    assert.equal(phone.ip, '127.0.0.1');

    assert.equal((await client.api('DELETE', `/me/sessions/${phone.id}`)).status, 204);
    assert.equal((await other.api('GET', '/me')).status, 401);
    const again = await client.api('DELETE', `/me/sessions/${phone.id}`);
    assert.equal(again.status, 404);
    assert.equal(errorOf(again).code, 'NOT_FOUND');
    assert.equal((await client.api('DELETE', '/me/sessions/not-a-session')).status, 400);
  });

  it('cannot end a session of another account', async () => {
    const mine = await apiUser('mine@example.com');
    const theirs = await apiUser('theirs@example.com');
    const answer = await mine.api('DELETE', `/me/sessions/${theirs.hashedSessionId ?? ''}`);
    assert.equal(answer.status, 404);
    assert.ok(await sessionExists(harness.server, theirs.hashedSessionId));
  });

  it('signs out everywhere else, and signs out', async () => {
    const client = await apiUser('many@example.com');
    const others = [harness.client(), harness.client()];
    for (const other of others) await other.apiSignIn('many@example.com', passwords.first);
    const ended = await client.api('DELETE', '/me/sessions');
    assert.deepEqual(ended.json(), { ended: 2 });
    for (const other of others) assert.equal((await other.api('GET', '/me')).status, 401);
    const id = client.hashedSessionId;
    assert.equal((await client.api('POST', '/auth/sign-out')).status, 204);
    assert.equal(await sessionExists(harness.server, id), false);
    assert.equal((await client.api('GET', '/me')).status, 401);
  });

  it('requires a fresh password proof for email, password and deletion', async () => {
    const client = await apiUser('fresh@example.com');
    await ageReauthentication(harness.server, client.hashedSessionId ?? '', 11 * 60_000);
    for (const [method, path, body] of [
      ['POST', '/me/password', { currentPassword: passwords.first, newPassword: passwords.second }],
      ['POST', '/me/email', { email: 'elsewhere@example.com' }],
      ['DELETE', '/me', undefined],
    ] as const) {
      const answer = await client.api(method, path, body);
      assert.equal(answer.status, 403, path);
      assert.equal(errorOf(answer).code, 'REAUTHENTICATION_REQUIRED');
    }
    const wrong = await client.api('POST', '/me/reauthenticate', { password: passwords.second });
    assert.equal(errorOf(wrong).code, 'INVALID_CREDENTIALS');
    const before = client.sessionId;
    assert.equal((await client.api('POST', '/me/reauthenticate', { password: passwords.first })).status, 204);
    assert.notEqual(client.sessionId, before);

    const other = harness.client();
    await other.apiSignIn('fresh@example.com', passwords.first);
    assert.equal((await client.api('POST', '/me/password', { currentPassword: passwords.first, newPassword: passwords.second })).status, 204);
    assert.equal((await other.api('GET', '/me')).status, 401);
    assert.equal((await client.api('GET', '/me')).status, 200);

    const activity = (await client.api('GET', '/me/activity?limit=5')).json() as { events: { type: string; description: string }[] };
    assert.ok(activity.events.length <= 5);
    assert.equal(activity.events[0]?.type, 'password_changed');

    assert.equal((await client.api('DELETE', '/me')).status, 204);
    assert.equal(await findUser(harness.server, 'fresh@example.com'), undefined);
    assert.equal((await client.api('GET', '/me')).status, 401);
  });

  it('resets a password by the emailed token and ends every session', async () => {
    const client = await apiUser('reset@example.com');
    assert.equal((await harness.client().api('POST', '/auth/password/forgot', { email: 'reset@example.com' })).status, 202);
    assert.equal((await harness.client().api('POST', '/auth/password/forgot', { email: 'ghost@example.com' })).status, 202);
    const { link } = await harness.linkFromEmail('reset@example.com', '/reset-password');
    const token = link.searchParams.get('token') ?? '';
    const rejected = await harness.client().api('POST', '/auth/password/reset', { token, newPassword: 'too short' });
    assert.equal(rejected.status, 422);
    assert.equal(errorOf(rejected).code, 'PASSWORD_REJECTED');
    assert.ok(errorOf(rejected).fields?.newPassword);
    assert.equal((await harness.client().api('POST', '/auth/password/reset', { token, newPassword: passwords.second })).status, 204);
    assert.equal((await client.api('GET', '/me')).status, 401);
    const reused = await harness.client().api('POST', '/auth/password/reset', { token, newPassword: passwords.third });
    assert.equal(errorOf(reused).code, 'TOKEN_INVALID');
    await harness.client().apiSignIn('reset@example.com', passwords.second);
  });

  it('answers anonymous and unknown requests with the error shape and no internals', async () => {
    const anonymous = await harness.client().api('GET', '/me/sessions');
    assert.equal(anonymous.status, 401);
    assert.equal(errorOf(anonymous).code, 'UNAUTHENTICATED');
    const missing = await harness.client().api('GET', '/no-such-route');
    assert.equal(missing.status, 404);
    assert.equal(errorOf(missing).code, 'NOT_FOUND');
    const wrongMethod = await harness.client().api('PUT', '/me', {});
    assert.equal(wrongMethod.status, 404);
    for (const answer of [anonymous, missing, wrongMethod]) {
      assert.match(String(answer.headers['content-type']), /^application\/json/);
      assert.doesNotMatch(answer.body, internalsPattern);
    }
  });

  it('serves an OpenAPI 3.1 document of exactly the routes it serves, generated from their schemas', async () => {
    const answer = await harness.client().api('GET', '/openapi.json');
    assert.equal(answer.status, 200);
    const document = answer.json() as {
      openapi: string;
      servers: { url: string }[];
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; additionalProperties?: boolean } }> }; responses: Record<string, unknown>; security?: unknown }>>;
      components: { securitySchemes: Record<string, { in: string; name: string }> };
    };
    assert.equal(document.openapi, '3.1.0');
    assert.equal(document.servers[0]?.url, `${harness.server.config.publicOrigin}/api/v1`);
    const documented = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`)).sort();
    // What Express really serves under /api/v1 (the document itself aside).
    const served = servedRoutes(harness.server.server.app)
      .filter((route) => route.path.startsWith('/api/v1/') && route.path !== '/api/v1/openapi.json')
      .map((route) => `${route.method.toLowerCase()} ${route.path.slice('/api/v1'.length).replace(/:(\w+)/g, '{$1}')}`)
      .sort();
    assert.deepEqual(documented, served);
    for (const required of ['post /auth/sign-up', 'post /auth/verify-email', 'post /auth/sign-in', 'post /auth/sign-out', 'post /auth/password/forgot', 'post /auth/password/reset', 'get /me', 'patch /me', 'post /me/password', 'get /me/sessions', 'delete /me/sessions/{id}', 'delete /me/sessions', 'get /me/activity', 'delete /me']) {
      assert.ok(documented.includes(required), required);
    }
    const signUp = document.paths['/auth/sign-up']?.post?.requestBody?.content['application/json']?.schema;
    assert.deepEqual(Object.keys(signUp?.properties ?? {}).sort(), ['displayName', 'email', 'password']);
    assert.equal(signUp?.additionalProperties, false);
    const me = document.paths['/me']?.get;
    assert.ok(me?.security);
    assert.ok(me.responses['401']);
    assert.equal(document.components.securitySchemes.sessionCookie?.name, harness.server.config.session.cookieName);
  });
});
