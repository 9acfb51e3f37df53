// test/observability/prometheus.test.ts
// A real scraper: Debian's prometheus (installed by .ci/run) scrapes a running server's metrics
// listener every second; after a scripted sign-in failure, its HTTP API must show the counter
// move. Everything on loopback, every wait bounded.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePorts } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { WebClient } from '../web/support/client.js';
import { fetchText, waitFor } from './support.js';

const prometheusBinary = process.env.PORTCULLIS_PROMETHEUS ?? '/usr/bin/prometheus';

interface QueryAnswer {
  readonly status: string;
  readonly data?: { readonly result: readonly { readonly metric: Record<string, string>; readonly value: readonly [number, string] }[] };
}

describe('Prometheus scraping the metrics listener', { skip: existsSync(prometheusBinary) ? false : `${prometheusBinary} is not installed (apt-get install prometheus)` }, () => {
  let server: TestServer;
  let folder: string;
  let prometheus: ChildProcess | undefined;
  let prometheusUrl: string;
  let output = '';

  before(async () => {
    server = await startTestServer({ PORTCULLIS_METRICS_ADDR: '127.0.0.1:0', PORTCULLIS_BCRYPT_COST: '10' });
    await server.server.accounts.createUser({ email: 'scraped@example.com', password: 'violet kettle harbour 90 lamp', role: 'user', emailVerified: true });
    const target = new URL(server.server.metricsUrl ?? '').host;
    folder = await mkdtemp(path.join(tmpdir(), 'portcullis-prometheus-'));
    const [webPort] = await freePorts(1);
    prometheusUrl = `http://127.0.0.1:${String(webPort)}`;
    const config = [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: portcullis',
      '    scrape_interval: 1s',
      '    scrape_timeout: 900ms',
      '    static_configs:',
      `      - targets: ['${target}']`,
      '',
    ].join('\n');
    await writeFile(path.join(folder, 'prometheus.yml'), config);
    prometheus = spawn(
      prometheusBinary,
      [`--config.file=${path.join(folder, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(folder, 'data')}`, `--web.listen-address=127.0.0.1:${String(webPort)}`, '--log.level=warn', '--storage.tsdb.retention.time=1h'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    prometheus.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    const ready = await waitFor(
      () => fetchText(`${prometheusUrl}/-/ready`).then((answer) => answer.status, () => 0),
      (status) => status === 200,
      30_000,
      250,
    );
    assert.equal(ready, 200, `prometheus did not become ready:\n${output}`);
  });

  after(async () => {
    if (prometheus !== undefined && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus?.once('close', resolve));
      prometheus.kill('SIGTERM');
      const timer = setTimeout(() => prometheus?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await server.close();
    await rm(folder, { recursive: true, force: true });
  });

  async function query(expression: string): Promise<number | undefined> {
    const answer = await fetchText(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expression)}`);
    if (answer.status !== 200) return undefined;
    const parsed = JSON.parse(answer.body) as QueryAnswer;
    const first = parsed.data?.result[0];
    return first === undefined ? undefined : Number(first.value[1]);
  }

  it('sees the target up, then the sign-in failure counter move after a failed sign-in', async () => {
    const up = await waitFor(() => query('up{job="portcullis"}'), (value) => value === 1, 30_000, 500);
    assert.equal(up, 1, `the target is not up:\n${output}`);
    const expression = 'portcullis_sign_ins_total{job="portcullis",outcome="failure"}';
    const before = await waitFor(() => query(expression), (value) => value !== undefined, 15_000, 500);
    assert.equal(before, 0, 'the series exists from the start, at zero');

    const client = new WebClient(server);
    await client.get('/sign-in');
    assert.equal((await client.submit('/sign-in', { email: 'scraped@example.com', password: 'a wrong password, scripted' })).status, 401);

    const after = await waitFor(() => query(expression), (value) => value !== undefined && value >= 1, 30_000, 500);
    assert.equal(after, 1, `prometheus never saw the failure:\n${output}`);
    // And the rate a dashboard or an alert rule would use.
    const increase = await query(`increase(${expression}[1m])`);
    assert.ok(increase !== undefined && increase > 0, `increase() is ${String(increase)}`);
  });
});
