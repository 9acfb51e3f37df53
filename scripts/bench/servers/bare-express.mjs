// scripts/bench/servers/bare-express.mjs: the floor every figure is compared with. Express 5 with
// nothing added, answering "hello" over HTTPS (the same certificate and Node.js defaults as the
// other servers), on an ephemeral loopback port. Started by scripts/bench/run.mjs.
//
// With BENCH_ANSWER=portcullis it sends Portcullis's answer instead (its security headers, set
// once per request from a list, and the guest home page's HTML, rendered once) and does nothing
// else: the price of the answer's size and headers alone, apart from every defence.
//
// With BENCH_ANSWER=node it is not Express at all: Node's own HTTPS server answering "hello" with
// the same status and headers Express's res.send gives it (but the ETag). Express's own cost per
// request is the difference; it is also what an answer made before Express sees the request (the
// early refusal of a known offender) does not pay.

import express from 'express';
import { serveHttps } from '../lib/children.mjs';

/** The Express app for the two Express answers; `serveHttps` takes any request listener. */
async function expressApp() {
  const app = express();
  if (process.env.BENCH_ANSWER === 'portcullis') {
    const dist = new URL('../../../dist/src/', import.meta.url);
    const { collectSecurityHeaders } = await import(new URL('security/headers.js', dist).href);
    const { renderDocument } = await import(new URL('web/render.js', dist).href);
    const { HomePage } = await import(new URL('web/pages/home.js', dist).href);
    const headers = [...collectSecurityHeaders({ hstsMaxAgeSeconds: 31_536_000, hstsPreload: false })];
    const page = renderDocument(HomePage({ context: { siteName: 'Portcullis', user: undefined, flash: undefined, csrfToken: undefined } }));
    app.get('/', (_req, res) => {
      for (const [name, value] of headers) res.setHeader(name, value);
      res.type('html').send(page);
    });
  } else {
    app.get('/', (_req, res) => {
      res.send('hello');
    });
  }
  return app;
}

function nodeHello(_req, res) {
  res.writeHead(200, ['Content-Type', 'text/html; charset=utf-8', 'Content-Length', '5']);
  res.end('hello');
}

serveHttps(process.env.BENCH_ANSWER === 'node' ? nodeHello : await expressApp());
