// test/server/validation.test.ts
// Practice 10 (input validation): validate() refuses unknown fields, wrong types, repeated
// parameters and oversized strings, names the fields at fault and never echoes the input.
// The route under test is mounted on a small Express app served over real HTTPS.

import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { z } from 'zod';
import pino from 'pino';
import { ensureSelfSignedCertificate, readCredentials } from '../../src/server/certificates.js';
import { createErrorHandler } from '../../src/errors/handler.js';
import { requestContext } from '../../src/observability/request-context.js';
import { text, validate, validated } from '../../src/security/validation.js';
import { request } from '../helpers/https-client.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const bodySchema = z.strictObject({ name: text(20, 1), age: z.number().int().min(0).max(150).optional() });
const querySchema = z.strictObject({ page: z.coerce.number().int().min(1).max(1000).optional(), q: text(50).optional() });
const paramsSchema = z.strictObject({ id: z.string().regex(/^[a-z0-9]{1,12}$/) });

describe('validate()', () => {
  let server: https.Server;
  let base: string;
  let ca: string;
  let folder: string;
  before(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'portcullis-validation-'));
    await ensureSelfSignedCertificate(path.join(folder, 'cert.pem'), path.join(folder, 'key.pem'));
    const credentials = await readCredentials(path.join(folder, 'cert.pem'), path.join(folder, 'key.pem'));
    ca = credentials.cert;
    const app = express();
    app.use(requestContext(pino({ level: 'silent' })));
    app.use(express.json({ limit: '16kb' }));
    app.set('query parser', 'simple');
    const schemas = { body: bodySchema, query: querySchema, params: paramsSchema };
    app.post('/things/:id', validate(schemas), (_req, res) => {
      const { body, query, params } = validated(res, schemas);
      res.json({ body, query, params });
    });
    // A route with no schemas: every part must be empty (the fast path for empty parts).
    app.all('/plain', validate({}), (_req, res) => {
      const { body, query, params } = validated(res, {});
      res.json({ body: body === undefined ? 'none' : body, query, params });
    });
    app.use(createErrorHandler(() => '<p>error</p>'));
    server = https.createServer(credentials, app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
    await rm(folder, { recursive: true, force: true });
  });

  const post = (pathAndQuery: string, body: unknown) =>
    request(base, pathAndQuery, { method: 'POST', ca, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('passes trimmed, typed values to the route', async () => {
    const response = await post('/things/abc1?page=2&q=%20hello%20', { name: '  Ada  ', age: 36 });
    assert.equal(response.status, 200);
    assert.deepEqual(response.json(), { body: { name: 'Ada', age: 36 }, query: { page: 2, q: 'hello' }, params: { id: 'abc1' } });
  });

  it('refuses unknown fields and names them', async () => {
    const response = await post('/things/abc1', { name: 'Ada', isAdmin: true });
    assert.equal(response.status, 400);
    const body = response.json() as { error: { code: string; fields: Record<string, string> } };
    assert.equal(body.error.code, 'VALIDATION_FAILED');
    assert.equal(body.error.fields.isAdmin, 'This field is not accepted here.');
  });

  it('refuses a prototype-pollution key without naming it back', async () => {
    const response = await request(base, '/things/abc1', { method: 'POST', ca, headers: { 'content-type': 'application/json' }, body: '{"name":"Ada","__proto__":{"admin":true}}' });
    assert.equal(response.status, 400);
    assert.equal(({} as Record<string, unknown>).admin, undefined);
  });

  it('refuses a repeated query parameter where one value is expected (parameter pollution)', async () => {
    const response = await post('/things/abc1?q=a&q=b', { name: 'Ada' });
    assert.equal(response.status, 400);
    assert.match((response.json() as { error: { fields: Record<string, string> } }).error.fields.q ?? '', /single text value/);
  });

  it('refuses wrong types, arrays and oversized strings with a message per field', async () => {
    const response = await post('/things/abc1', { name: ['a', 'b'], age: 'old' });
    assert.equal(response.status, 400);
    const fields = (response.json() as { error: { fields: Record<string, string> } }).error.fields;
    assert.deepEqual(Object.keys(fields).sort(), ['age', 'name']);
    const tooLong = await post('/things/abc1', { name: 'x'.repeat(21) });
    assert.match((tooLong.json() as { error: { fields: Record<string, string> } }).error.fields.name ?? '', /at most 20 characters/);
  });

  it('counts characters as code points, not UTF-16 units', async () => {
    const twentyEmoji = '😀'.repeat(20);
    assert.equal((await post('/things/abc1', { name: twentyEmoji })).status, 200);
    assert.equal((await post('/things/abc1', { name: `${twentyEmoji}😀` })).status, 400);
  });

  it('never echoes hostile input in the answer', async () => {
    const hostile = '<script>alert(document.cookie)</script>';
    const response = await post(`/things/abc1?${encodeURIComponent(hostile)}=1`, { name: hostile.repeat(3), [hostile]: 1 });
    assert.equal(response.status, 400);
    assert.ok(!response.body.includes('<script>'), response.body);
    assert.ok(!response.body.includes('alert'), response.body);
  });

  it('refuses a bad route parameter', async () => {
    const response = await post('/things/ABC-../x', { name: 'Ada' });
    assert.equal(response.status, 404);
    const bad = await post('/things/ABC', { name: 'Ada' });
    assert.equal(bad.status, 400);
    assert.ok('id' in (bad.json() as { error: { fields: Record<string, string> } }).error.fields);
  });

  it('on a route that takes no input, passes empty parts and refuses anything sent', async () => {
    const empty = await request(base, '/plain', { ca });
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.json(), { body: 'none', query: {}, params: {} });
    for (const pathAndQuery of ['/plain?x=1', '/plain?__proto__=1', '/plain?x=1&x=2', '/plain?=']) {
      const refused = await request(base, pathAndQuery, { ca });
      assert.equal(refused.status, 400, pathAndQuery);
      assert.equal((refused.json() as { error: { code: string } }).error.code, 'VALIDATION_FAILED', pathAndQuery);
    }
    assert.equal((await post('/plain', {})).status, 200, 'an empty JSON object is no input');
    const withBody = await post('/plain', { admin: true });
    assert.equal(withBody.status, 400);
    assert.deepEqual((withBody.json() as { error: { fields: Record<string, string> } }).error.fields, { admin: 'This field is not accepted here.' });
  });

  it('refuses a JSON array or a missing body where an object is expected', async () => {
    assert.equal((await post('/things/abc1', [1, 2])).status, 400);
    const empty = await request(base, '/things/abc1', { method: 'POST', ca });
    assert.equal(empty.status, 400);
  });
});
