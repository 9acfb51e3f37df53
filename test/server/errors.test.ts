// test/server/errors.test.ts
// Practice 7 (minimal error details): every kind of bad request gets the same generic treatment,
// a stable code and a request id, and nothing of the internals, in JSON and in HTML.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { internalsPattern, startTestServer, type TestServer } from '../helpers/test-server.js';
import { rawTlsExchange } from '../helpers/https-client.js';

interface ErrorJson {
  error: { code: string; message: string; requestId: string; fields?: Record<string, string> };
}

describe('the central error handler', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  const cases: { name: string; path: string; method?: string; headers?: Record<string, string>; body?: string; status: number; code: string }[] = [
    { name: 'an unknown path', path: '/does/not/exist', status: 404, code: 'NOT_FOUND' },
    { name: 'malformed JSON', path: '/', method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":', status: 400, code: 'MALFORMED_JSON' },
    { name: 'a JSON body over 16 KiB', path: '/', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: 'x'.repeat(17 * 1024) }), status: 413, code: 'BODY_TOO_LARGE' },
    { name: 'a form body over 16 KiB', path: '/', method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `a=${'x'.repeat(17 * 1024)}`, status: 413, code: 'BODY_TOO_LARGE' },
    { name: 'a wrong content type', path: '/', method: 'POST', headers: { 'content-type': 'text/xml' }, body: '<a/>', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { name: 'a body without a content type', path: '/', method: 'POST', body: 'hello', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { name: 'an unsupported charset', path: '/', method: 'POST', headers: { 'content-type': 'application/json; charset=latin1' }, body: '{}', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { name: 'bad percent-encoding in the path', path: '/%E0%A4%A', status: 400, code: 'BAD_ENCODING' },
    { name: 'a lone percent sign in the path', path: '/a%', status: 400, code: 'BAD_ENCODING' },
    { name: 'the TRACE method', path: '/', method: 'TRACE', status: 405, code: 'METHOD_NOT_ALLOWED' },
    { name: 'a JSON scalar body', path: '/', method: 'POST', headers: { 'content-type': 'application/json' }, body: '"just a string"', status: 400, code: 'MALFORMED_JSON' },
    { name: 'an unexpected query parameter', path: '/?debug=1', status: 400, code: 'VALIDATION_FAILED' },
  ];

  for (const testCase of cases) {
    it(`answers ${testCase.name} with ${testCase.status} ${testCase.code} and no internals`, async () => {
      const response = await server.request(testCase.path, {
        method: testCase.method ?? 'GET',
        headers: { accept: 'application/json', ...testCase.headers },
        ...(testCase.body === undefined ? {} : { body: testCase.body }),
      });
      assert.equal(response.status, testCase.status, response.body);
      const body = response.json() as ErrorJson;
      assert.equal(body.error.code, testCase.code);
      assert.equal(body.error.requestId, response.headers['x-request-id']);
      assert.doesNotMatch(response.body, internalsPattern);
      assert.equal(response.headers['cache-control'], 'no-store');
    });
  }

  it('answers browsers with an HTML page that shows only the message and a reference', async () => {
    const response = await server.request('/nowhere', { headers: { accept: 'text/html' } });
    assert.equal(response.status, 404);
    assert.match(String(response.headers['content-type']), /text\/html/);
    assert.match(response.body, /Nothing was found at this address\./);
    assert.ok(response.body.includes(String(response.headers['x-request-id'])));
    assert.doesNotMatch(response.body, internalsPattern);
    assert.doesNotMatch(response.body, /<script/i);
  });

  it('does not reflect hostile input in error pages', async () => {
    const response = await server.request('/%3Cscript%3Ealert(1)%3C%2Fscript%3E', { headers: { accept: 'text/html' } });
    assert.equal(response.status, 404);
    assert.doesNotMatch(response.body, /<script>alert/i);
    assert.doesNotMatch(response.body, /alert\(1\)/);
  });

  it('answers an oversized header block with 431 and the generic body', async () => {
    const raw = await rawTlsExchange('127.0.0.1', server.port, server.ca, `GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(raw, /^HTTP\/1\.1 431/);
    assert.match(raw, /"code":"HEADERS_TOO_LARGE"/);
    assert.doesNotMatch(raw, internalsPattern);
  });

  it('answers a request line the parser cannot read with 400 and the generic body', async () => {
    const raw = await rawTlsExchange('127.0.0.1', server.port, server.ca, 'GET / HTTP/1.1\r\nHost: localhost\r\nBad Header Line\r\n\r\n');
    assert.match(raw, /^HTTP\/1\.1 400/);
    assert.match(raw, /"code":"BAD_REQUEST"/);
    assert.doesNotMatch(raw, internalsPattern);
  });

  it('answers HEAD errors without a body', async () => {
    const response = await server.request('/nowhere', { method: 'HEAD' });
    assert.equal(response.status, 404);
    assert.equal(response.body, '');
  });

  it('logs the detail of a refusal server-side, under the same request id', async () => {
    const response = await server.request('/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{oops' });
    const requestId = response.headers['x-request-id'];
    const line = server.logs().find((entry) => entry.requestId === requestId && entry.msg === 'request refused');
    assert.ok(line, 'a log line for the refusal');
    assert.equal(line.code, 'MALFORMED_JSON');
    assert.match(String(line.cause), /JSON/);
  });
});
