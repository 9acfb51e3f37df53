// scripts/bench/servers/bare-express.mjs: the floor every figure is compared with. Express 5 with
// nothing added, answering "hello" over HTTPS (the same certificate and Node.js defaults as the
// other servers), on an ephemeral loopback port. Started by scripts/bench/run.mjs.

import express from 'express';
import { serveHttps } from '../lib/children.mjs';

const app = express();
app.get('/', (_req, res) => {
  res.send('hello');
});

serveHttps(app);
