// scripts/bench/servers/portcullis.mjs: one Portcullis instance under test, in a process of its
// own. It loads the configuration from the environment that scripts/bench/run.mjs prepared
// (NODE_ENV=production, a certificate, a master key, SQLite or PostgreSQL + Redis) and starts the
// server exactly as `portcullis serve` does, minus the root privilege drop (the benchmark never
// runs the server as root: nothing is bound below 1024, and the launcher passes the configuration
// check as the unprivileged user it would have become). Compiled code from dist/ (npm run build).
//
// A debug channel (IPC from the benchmark, never the network) answers two questions the server's
// own metrics answer too coarsely: event-loop delay at 1 ms resolution over a chosen interval
// (the Prometheus gauge samples every 10 ms), and memory after a full collection when the process
// was started with --expose-gc.

import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { serveUntilStopped } from '../lib/children.mjs';

// BENCH_PORTCULLIS_ROOT: another checkout's build, to compare before and after a change.
const dist = path.join(process.env.BENCH_PORTCULLIS_ROOT ?? path.resolve(import.meta.dirname, '../../..'), 'dist/src');
const load = (file) => import(pathToFileURL(path.join(dist, file)).href);
const { loadConfig } = await load('config/load.js');
const { createLogger } = await load('observability/logger.js');
const { startServer } = await load('server/start.js');

const euid = process.geteuid?.();
const { config, warnings } = await loadConfig({ euid: euid === 0 ? 65_534 : euid });
const logger = createLogger(config.log);
for (const warning of warnings) logger.warn(warning);
const server = await startServer({ config, logger });

let delay;
process.on('message', (message) => {
  const reply = (value) => process.send({ type: 'reply', id: message.id, value });
  switch (message?.type) {
    case 'eld-start':
      delay?.disable();
      delay = monitorEventLoopDelay({ resolution: 1 });
      delay.enable();
      reply(true);
      return;
    case 'eld-read': {
      if (delay === undefined) return reply(null);
      delay.disable();
      const ms = (ns) => ns / 1e6;
      reply({ p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max), mean: ms(delay.mean), count: delay.count });
      delay = undefined;
      return;
    }
    case 'memory':
      globalThis.gc?.();
      reply({ ...process.memoryUsage(), collected: typeof globalThis.gc === 'function' });
      return;
    default:
      reply(null);
  }
});

process.send({ type: 'ready', url: server.mainUrl, metricsUrl: server.metricsUrl ?? null });
serveUntilStopped(() => server.close());
