// test/observability/tracing.test.ts
// OpenTelemetry tracing, end to end: a real `portcullis serve` process with
// OTEL_EXPORTER_OTLP_ENDPOINT pointing at an OTLP/HTTP receiver in this test (JSON encoding).
// One request must arrive as one trace: the HTTP server span at the root, Express's spans below
// it, the database's (SQLite through our wrapper, or pg; and Redis when configured) below those,
// each linked to its parent; and every log line of that request must carry the trace's id.
// Without the endpoint, nothing is traced or loaded.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePorts, makeWorkspace, startServe, type RunningCli, type Workspace } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { request } from '../helpers/https-client.js';
import { testRedisUrl } from '../helpers/test-server.js';
import { waitFor } from './support.js';

interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly scope: string;
  readonly attributes: ReadonlyMap<string, string | number | boolean>;
}

interface OtlpAttribute {
  readonly key: string;
  readonly value: { readonly stringValue?: string; readonly intValue?: string | number; readonly boolValue?: boolean; readonly doubleValue?: number };
}
interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes?: readonly OtlpAttribute[];
}
interface OtlpExport {
  readonly resourceSpans?: readonly { readonly resource?: { readonly attributes?: readonly OtlpAttribute[] }; readonly scopeSpans?: readonly { readonly scope?: { readonly name?: string }; readonly spans?: readonly OtlpSpan[] }[] }[];
}

/** OTLP/JSON ids are hex; some encoders send base64. Either way, hex here. */
function hexId(value: string | undefined): string {
  if (value === undefined || value === '') return '';
  return /^[0-9a-f]+$/i.test(value) ? value.toLowerCase() : Buffer.from(value, 'base64').toString('hex');
}

function attributesOf(list: readonly OtlpAttribute[] | undefined): Map<string, string | number | boolean> {
  const map = new Map<string, string | number | boolean>();
  for (const { key, value } of list ?? []) {
    const scalar = value.stringValue ?? (value.intValue === undefined ? undefined : Number(value.intValue)) ?? value.boolValue ?? value.doubleValue;
    if (scalar !== undefined) map.set(key, scalar);
  }
  return map;
}

/** A minimal OTLP/HTTP receiver: POST /v1/traces with a JSON body, answered with an empty success. */
async function startReceiver(): Promise<{ endpoint: string; spans: ReceivedSpan[]; resources: Map<string, string | number | boolean>[]; contentTypes: Set<string>; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const resources: Map<string, string | number | boolean>[] = [];
  const contentTypes = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      contentTypes.add(String(req.headers['content-type']));
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
        for (const resourceSpans of parsed.resourceSpans ?? []) {
          resources.push(attributesOf(resourceSpans.resource?.attributes));
          for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
            for (const span of scopeSpans.spans ?? []) {
              spans.push({ traceId: hexId(span.traceId), spanId: hexId(span.spanId), parentSpanId: hexId(span.parentSpanId), name: span.name, kind: span.kind, scope: scopeSpans.scope?.name ?? '', attributes: attributesOf(span.attributes) });
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${String(port)}`,
    spans,
    resources,
    contentTypes,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

const serverKind = 2;

describe('tracing over OTLP/HTTP', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let space: Workspace;
  let database: TestDatabase | undefined;
  let server: RunningCli;
  let ca: string;

  before(async () => {
    receiver = await startReceiver();
    space = await makeWorkspace();
    database = process.env.PORTCULLIS_TEST_DATABASE_URL === undefined ? undefined : await createTestDatabase(space.root);
    const [httpsPort, httpPort] = await freePorts(2);
    server = await startServe({
      env: {
        NODE_ENV: 'development',
        PORTCULLIS_DATA_DIR: space.dataDir,
        PORTCULLIS_HTTPS_PORT: String(httpsPort),
        PORTCULLIS_HTTP_PORT: String(httpPort),
        PORTCULLIS_METRICS_ADDR: 'off',
        PORTCULLIS_LOG_LEVEL: 'debug',
        ...(database?.url === undefined ? {} : { PORTCULLIS_DATABASE_URL: database.url }),
        ...(testRedisUrl === undefined ? {} : { PORTCULLIS_REDIS_URL: testRedisUrl, PORTCULLIS_REDIS_PREFIX: `tracing-${String(httpsPort)}:` }),
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'portcullis-under-test',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
      cwd: space.root,
    });
    ca = await readFile(path.join(space.dataDir, 'tls', 'cert.pem'), 'utf8');
  });

  after(async () => {
    await server.stop('SIGTERM');
    await receiver.close();
    await database?.drop();
    await space.cleanup();
  });

  it('sends one linked trace per request: HTTP server, Express, the database, and the trace id in its log lines', async () => {
    // A sign-in attempt: a page with a form (a session is stored), then a refused post (the user
    // lookup, the audit trail's append).
    const page = await request(server.url, '/sign-in', { ca });
    assert.equal(page.status, 200);
    const cookie = (page.headers['set-cookie'] ?? []).map((line) => line.split(';', 1)[0]).join('; ');
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    const body = new URLSearchParams({ _csrf: token, email: 'nobody@example.com', password: 'wrong password for tracing' }).toString();
    const refused = await request(server.url, '/sign-in', { ca, method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: 'null', 'sec-fetch-site': 'same-origin' }, body });
    assert.equal(refused.status, 401);
    const requestId = String(refused.headers['x-request-id']);

    // The server span of the post, then everything under it.
    const isPostServerSpan = (span: ReceivedSpan) => span.kind === serverKind && span.attributes.get('http.request.method') === 'POST' && span.attributes.get('url.path') === '/sign-in';
    const root = await waitFor(() => Promise.resolve(receiver.spans.find(isPostServerSpan)), (span) => span !== undefined, 15_000);
    assert.ok(root !== undefined, `no server span arrived; got: ${receiver.spans.map((span) => span.name).join(', ')}`);
    assert.equal(root.parentSpanId, '', 'the server span is the root of its trace');
    assert.match(root.name, /^POST/);
    assert.equal(root.attributes.get('http.route'), '/sign-in');
    assert.ok(receiver.contentTypes.has('application/json'), 'OTLP/HTTP with the JSON encoding');
    assert.ok(receiver.resources.some((resource) => resource.get('service.name') === 'portcullis-under-test'));

    const isDatabaseSpan = (span: ReceivedSpan) => span.traceId === root.traceId && (span.attributes.has('db.system.name') || span.attributes.has('db.system'));
    await waitFor(() => Promise.resolve(receiver.spans.filter(isDatabaseSpan).length), (count) => count >= 3, 15_000);
    const trace = receiver.spans.filter((span) => span.traceId === root.traceId);
    const byId = new Map(trace.map((span) => [span.spanId, span]));
    const reachesRoot = (span: ReceivedSpan): boolean => {
      let current: ReceivedSpan | undefined = span;
      for (let depth = 0; depth < 50 && current !== undefined; depth += 1) {
        if (current.spanId === root.spanId) return true;
        current = byId.get(current.parentSpanId);
      }
      return false;
    };

    const handler = trace.find((span) => span.scope.includes('express') && span.attributes.get('express.type') === 'request_handler');
    assert.ok(handler !== undefined, `an Express request-handler span; got: ${trace.map((span) => span.name).join(', ')}`);
    assert.equal(handler.attributes.get('http.route'), '/sign-in');
    assert.ok(reachesRoot(handler), 'the Express span hangs under the server span');

    const databaseSpans = trace.filter(isDatabaseSpan);
    const system = database === undefined ? 'sqlite' : 'postgresql';
    assert.ok(databaseSpans.some((span) => span.attributes.get('db.system.name') === system || span.attributes.get('db.system') === system), `${system} spans; got: ${databaseSpans.map((span) => span.name).join(', ')}`);
    for (const span of databaseSpans) assert.ok(reachesRoot(span), `${span.name} is linked, through its parents, to the request's server span`);
    // The audit trail's append is one of them, by its statement (parameterised: no values inside).
    assert.ok(databaseSpans.some((span) => /audit_events/.test(String(span.attributes.get('db.query.text') ?? span.attributes.get('db.statement') ?? span.name))));
    for (const span of databaseSpans) assert.ok(!String(span.attributes.get('db.query.text') ?? '').includes('nobody@example.com'), 'no bound value in a statement');
    if (testRedisUrl !== undefined) {
      assert.ok(trace.some((span) => span.attributes.get('db.system.name') === 'redis' || span.attributes.get('db.system') === 'redis'), 'Redis commands are traced too');
    }

    // Every log line written for this request carries the trace's id: the access line (with its
    // request id) and the audit line written below the web layer, which knows no request id.
    const access = await waitFor(() => Promise.resolve(server.logs().find((line) => line.requestId === requestId && line.msg === 'request')), (line) => line !== undefined, 5_000);
    assert.ok(access !== undefined);
    assert.equal(access.traceId, root.traceId, 'the access log line carries the trace id');
    for (const line of server.logs().filter((candidate) => candidate.requestId === requestId)) assert.equal(line.traceId, root.traceId, `log line "${String(line.msg)}" carries the trace id`);
    const audit = server.logs().find((line) => String(line.msg).startsWith('audit: sign_in failure'));
    assert.ok(audit !== undefined);
    assert.equal(audit.traceId, root.traceId, 'the audit log line carries it too');
    assert.match(String(audit.spanId), /^[0-9a-f]{16}$/);
  });

  it('shows how few statements a successful sign-in makes (issue 8: they share the cores that hash)', async () => {
    // A new account (no second factor), then a sign-in through the JSON API from a browser with
    // no cookie at all: every database statement and Redis command of that request, counted from
    // its trace. Before issue 8's fourth round the same sign-in made 21 SQLite statements.
    const email = 'counted@example.com';
    const password = 'quiet lantern orchard 42 ferry';
    const json = { 'content-type': 'application/json', accept: 'application/json', 'sec-fetch-site': 'same-origin' };
    const signUp = await request(server.url, '/api/v1/auth/sign-up', { ca, method: 'POST', headers: json, body: JSON.stringify({ email, password }) });
    assert.equal(signUp.status, 202, signUp.body);
    const signIn = await request(server.url, '/api/v1/auth/sign-in', { ca, method: 'POST', headers: json, body: JSON.stringify({ email, password }) });
    assert.equal(signIn.status, 200, signIn.body);
    const isSignIn = (span: ReceivedSpan) => span.kind === serverKind && span.attributes.get('url.path') === '/api/v1/auth/sign-in';
    const root = await waitFor(() => Promise.resolve(receiver.spans.find(isSignIn)), (span) => span !== undefined, 15_000);
    assert.ok(root !== undefined);
    const systemOf = (span: ReceivedSpan) => String(span.attributes.get('db.system.name') ?? span.attributes.get('db.system') ?? '');
    const counted = () => {
      // Statements and commands; taking a pooled connection is not one.
      const spans = receiver.spans.filter((span) => span.traceId === root.traceId && systemOf(span) !== '' && !span.name.startsWith('pg-pool.'));
      return { sql: spans.filter((span) => systemOf(span) !== 'redis').length, redis: spans.filter((span) => systemOf(span) === 'redis').length, names: spans.map((span) => span.name) };
    };
    // Spans arrive in batches: wait until the count has stopped growing.
    let last = -1;
    await waitFor(
      async () => {
        const now = counted().sql + counted().redis;
        const settled = now > 0 && now === last;
        last = now;
        await new Promise((resolve) => setTimeout(resolve, 300));
        return settled;
      },
      (settled) => settled,
      15_000,
    );
    const { sql, redis, names } = counted();
    // On SQLite alone (15): three rate-limit counters (the general limit's first hit of a window,
    // the sign-in limit per address and per email), the throttle's count and its clearing, the
    // sign-in limit's refund, the account read once, one second-factor question, the audit event's
    // transaction (six, with BEGIN and COMMIT) and the session written once. With PostgreSQL and
    // Redis, limits, throttle and session are seven Redis commands and eight statements remain.
    if (testRedisUrl === undefined) assert.ok(sql <= 15, `${sql} statements: ${names.join(', ')}`);
    else assert.ok(sql <= 8 && redis <= 7, `${sql} statements and ${redis} Redis commands: ${names.join(', ')}`);
  });

  it('redacts tokens in query strings before they reach a span', async () => {
    await request(server.url, '/reset-password?token=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG', { ca });
    const span = await waitFor(() => Promise.resolve(receiver.spans.find((candidate) => candidate.kind === serverKind && candidate.attributes.get('url.path') === '/reset-password')), (found) => found !== undefined, 15_000);
    assert.ok(span !== undefined);
    const everything = JSON.stringify([...span.attributes]);
    assert.ok(!everything.includes('abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG'), everything);
  });
});
