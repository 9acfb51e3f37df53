// scripts/bench/servers/bcrypt-limit.mjs: the physical limit of sign-in on this machine. In a
// process of its own, with Node's default libuv thread pool (as the server has), keeps
// BENCH_CONCURRENCY bcrypt comparisons in flight at cost BENCH_COST for BENCH_SECONDS and
// reports completed comparisons per second. A sign-in costs one such comparison (Portcullis
// compares bcrypt over an HMAC pre-hash of the password: the pre-hash is microseconds).

import { performance } from 'node:perf_hooks';
import bcrypt from 'bcrypt';

const cost = Number(process.env.BENCH_COST ?? 12);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const password = 'a pre-hashed password of the usual length, 64 characters long....';
const hash = await bcrypt.hash(password, cost);

// Warm-up: one round on every thread.
await Promise.all(Array.from({ length: concurrency }, () => bcrypt.compare(password, hash)));

let done = 0;
const started = performance.now();
const deadline = started + seconds * 1000;
const worker = async () => {
  while (performance.now() < deadline) {
    if (!(await bcrypt.compare(password, hash))) throw new Error('bcrypt disagreed with itself');
    done += 1;
  }
};
await Promise.all(Array.from({ length: concurrency }, worker));
const elapsed = (performance.now() - started) / 1000;
process.send({ type: 'ready', hashesPerSecond: done / elapsed, hashes: done, seconds: elapsed, cost, threadpool: Number(process.env.UV_THREADPOOL_SIZE ?? 4) });
process.disconnect();
