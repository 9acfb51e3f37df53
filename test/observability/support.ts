// test/observability/support.ts
// Reading Prometheus metrics the way a scraper does (plain HTTP to the metrics listener, the text
// exposition format parsed line by line), and waiting, bounded, for a value to move.

import http from 'node:http';

export interface Sample {
  readonly name: string;
  readonly labels: ReadonlyMap<string, string>;
  readonly value: number;
}

export async function fetchText(url: string, options: { method?: string } = {}): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: options.method ?? 'GET', timeout: 5_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, contentType: response.headers['content-type'] ?? '', body });
      });
    });
    request.on('timeout', () => request.destroy(new Error(`no answer from ${url}`)));
    request.on('error', reject);
    request.end();
  });
}

function parseLabels(text: string | undefined): Map<string, string> {
  const labels = new Map<string, string>();
  if (text === undefined) return labels;
  // Our label values never hold quotes or backslashes, so a plain split is enough here.
  for (const match of text.matchAll(/([A-Za-z_][A-Za-z0-9_]*)="([^"]*)"/g)) {
    const [, name, value] = match;
    if (name !== undefined && value !== undefined) labels.set(name, value);
  }
  return labels;
}

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const series = line.slice(0, space);
    const brace = series.indexOf('{');
    const name = brace === -1 ? series : series.slice(0, brace);
    samples.push({ name, labels: parseLabels(brace === -1 ? undefined : series.slice(brace + 1, -1)), value: Number(line.slice(space + 1)) });
  }
  return samples;
}

/** The sum of the samples named `name` whose labels include `labels` (0 when none). */
export function valueOf(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  return samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels.get(key) === value))
    .reduce((total, sample) => total + sample.value, 0);
}

export async function scrape(metricsUrl: string): Promise<Sample[]> {
  const answer = await fetchText(`${metricsUrl}/metrics`);
  if (answer.status !== 200) throw new Error(`/metrics answered ${answer.status}`);
  return parseMetrics(answer.body);
}

/** Reads a metric now; `moved(before)` later reads it again and returns the difference. */
export async function counter(metricsUrl: string, name: string, labels: Readonly<Record<string, string>> = {}): Promise<{ before: number; moved(): Promise<number> }> {
  const before = valueOf(await scrape(metricsUrl), name, labels);
  return {
    before,
    async moved() {
      return valueOf(await scrape(metricsUrl), name, labels) - before;
    },
  };
}

/** Polls `read` until `accept` says yes or `timeoutMs` passes; returns the last value read. */
export async function waitFor<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!accept(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    value = await read();
  }
  return value;
}
