// test/bench/harness.test.ts
// The benchmark harness (npm run bench, issue 8) is not part of the suite, so this keeps it from
// rotting: a very short run against bare Express only (one repetition, one second) must start the
// server in its own process, load it over HTTPS and print the table with its columns and a rate,
// and --write must put that report into a file between its markers and nowhere else.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

const root = path.resolve(import.meta.dirname, '../../..');
const script = path.join(root, 'scripts/bench/run.mjs');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runBench(args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface ThroughputRow {
  readonly id: string;
  readonly rps: number[];
  readonly p99: number[];
  readonly unexpected: number;
}

describe('the benchmark harness', () => {
  const folders: string[] = [];
  after(async () => {
    await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
  });

  it('measures bare Express over HTTPS and prints the table with a positive rate', { timeout: 40_000 }, async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'portcullis-bench-test-'));
    folders.push(folder);
    const jsonFile = path.join(folder, 'results.json');
    const reportFile = path.join(folder, 'BENCHMARKS.md');
    const start = '<!-- npm run bench -- --write: the generated report starts here -->';
    const end = '<!-- npm run bench -- --write: the generated report ends here -->';
    await writeFile(reportFile, `# Benchmarks\n\nWritten by people.\n\n${start}\nan old report\n${end}\n\n## Analysis\n\nAlso by people.\n`);
    const args = ['--only', 'bare', '--reps', '1', '--duration', '1', '--warmup', '0', '--connections', '4', '--json', jsonFile, '--write', reportFile];
    const run = await runBench(args);
    assert.equal(run.code, 0, run.stderr);

    // The report between the markers, headed by the command that made it; the rest untouched.
    const written = await readFile(reportFile, 'utf8');
    assert.ok(written.startsWith(`# Benchmarks\n\nWritten by people.\n\n${start}\n`));
    assert.ok(written.endsWith(`${end}\n\n## Analysis\n\nAlso by people.\n`));
    assert.ok(!written.includes('an old report'));
    const region = written.slice(written.indexOf(start) + start.length, written.indexOf(end));
    assert.match(region, /^\n\nWritten by `/);
    assert.ok(region.includes(`npm run bench -- ${args.join(' ')}\``), region);
    assert.ok(region.includes(run.stdout.trim()), 'the printed report, as printed');

    const lines = run.stdout.split('\n');
    assert.match(run.stdout, /^Machine: .+, \d+ cores, .*Node\.js v\d+/m);
    assert.ok(lines.includes("| server | endpoint | requests/s | p50 ms | p99 ms | vs bare Express | vs the guide's stack | server CPU µs/request | CPU: bare ÷ this |"), run.stdout);
    const row = lines.find((line) => line.startsWith('| bare Express 5 |'));
    assert.ok(row !== undefined, run.stdout);
    const rate = Number(row.split('|')[3]?.trim().replace(/,/g, ''));
    assert.ok(rate > 0, `rate in "${row}"`);

    const results = JSON.parse(await readFile(jsonFile, 'utf8')) as { throughput: ThroughputRow[]; machine: { cores: number } };
    const bare = results.throughput.find((entry) => entry.id === 'bare.hello');
    assert.ok(bare !== undefined);
    assert.equal(bare.rps.length, 1);
    assert.ok((bare.rps[0] ?? 0) > 0);
    assert.equal(bare.unexpected, 0, 'every answer was the expected 200');
    // Node's own HTTPS server, below the floor: what Express itself costs.
    const node = results.throughput.find((entry) => entry.id === 'bare.node');
    assert.ok(node !== undefined && (node.rps[0] ?? 0) > 0, 'bare Node.js was measured');
    assert.equal(node.unexpected, 0);
    assert.ok(results.machine.cores >= 1);
  });

  it('refuses --write to a file without its markers before running anything', { timeout: 20_000 }, async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'portcullis-bench-test-'));
    folders.push(folder);
    const reportFile = path.join(folder, 'notes.md');
    await writeFile(reportFile, '# Notes without markers\n');
    const run = await runBench(['--only', 'bare', '--write', reportFile]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--write: .*notes\.md must contain the line "<!-- npm run bench -- --write: the generated report starts here -->"/);
    assert.equal(run.stdout, '', 'nothing measured');
    assert.equal(await readFile(reportFile, 'utf8'), '# Notes without markers\n', 'the file is left alone');
    const missing = await runBench(['--only', 'bare', '--write', path.join(folder, 'absent.md')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--write: cannot read .*absent\.md \(ENOENT\)/);
  });

  it('refuses a section it does not know, naming the ones it has', { timeout: 20_000 }, async () => {
    const run = await runBench(['--only', 'everything']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--only takes bare, guide, portcullis, signin, memory, check/);
  });
});
