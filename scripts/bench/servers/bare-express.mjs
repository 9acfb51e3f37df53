// scripts/bench/servers/bare-express.mjs: the floor every figure is compared with. Express 5 with
// nothing added, answering "hello" over HTTPS (the same certificate and Node.js defaults as the
// other servers), on an ephemeral loopback port. Started by scripts/bench/run.mjs.

import { readFileSync } from 'node:fs';
import https from 'node:https';
import express from 'express';
import { serveUntilStopped } from '../lib/children.mjs';

const app = express();
app.get('/', (_req, res) => {
  res.send('hello');
});

const server = https.createServer({ cert: readFileSync(process.env.BENCH_CERT), key: readFileSync(process.env.BENCH_KEY) }, app);
server.listen({ host: '127.0.0.1', port: 0 }, () => {
  const { port } = server.address();
  process.send({ type: 'ready', url: `https://127.0.0.1:${port}` });
});
serveUntilStopped(
  () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
);
