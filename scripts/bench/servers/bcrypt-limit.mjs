// scripts/bench/servers/bcrypt-limit.mjs: the physical limit of sign-in on this machine. In a
// process of its own, with Node's default libuv thread pool (as the server has), keeps
// BENCH_CONCURRENCY bcrypt comparisons in flight at cost BENCH_COST for BENCH_SECONDS and
// reports completed comparisons per second. A sign-in costs one such comparison (Portcullis
// compares bcrypt over an HMAC pre-hash of the password: the pre-hash is microseconds).
//
// Counted as autocannon counts the sign-in flood it is compared with: what completes inside the
// window, over the window. The comparisons still running when it ends are not counted on either
// side (at cost 12 on 2 cores, four threads' half-done hashes: about two hashes, 4% of a 6 s run).
// Waiting for them and counting them here, as this did before, set the limit higher than the
// flood could ever be measured at.

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
// Also every comparison started in the window, over the time until the last one ended (the
// counting used before; kept in the JSON output for comparison).
let doneIncludingLate = 0;
const started = performance.now();
const deadline = started + seconds * 1000;
const worker = async () => {
  while (performance.now() < deadline) {
    if (!(await bcrypt.compare(password, hash))) throw new Error('bcrypt disagreed with itself');
    if (performance.now() <= deadline) done += 1;
    doneIncludingLate += 1;
  }
};
await Promise.all(Array.from({ length: concurrency }, worker));
const drainedSeconds = (performance.now() - started) / 1000;
process.send({
  type: 'ready',
  hashesPerSecond: done / seconds,
  hashes: done,
  seconds,
  drainedHashesPerSecond: doneIncludingLate / drainedSeconds,
  cost,
  threadpool: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
});
process.disconnect();
