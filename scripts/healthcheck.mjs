#!/usr/bin/env node
// scripts/healthcheck.mjs: the container's HEALTHCHECK. Asks the server's own /healthz over loopback
// and exits 0 when it answers {"status":"ok"}, 1 otherwise (Docker's healthy / unhealthy).
//
// It reads the same PORTCULLIS_HOST and PORTCULLIS_HTTPS_PORT as the server. The certificate is not
// verified, and only here: the check talks to 127.0.0.1 inside the container, where it cannot be
// intercepted, and a development or internal certificate would otherwise fail it. Behind a
// TLS-terminating proxy the main listener speaks plain HTTP; a TLS handshake that meets plain HTTP
// is retried once over HTTP on the same port, saying X-Forwarded-Proto: https as the proxy would
// (the server believes it only when PORTCULLIS_TRUST_PROXY trusts the loopback hop).

import http from 'node:http';
import https from 'node:https';

const timeoutMs = 4_000;
const port = Number(process.env.PORTCULLIS_HTTPS_PORT ?? '') || 8443;
const configuredHost = (process.env.PORTCULLIS_HOST ?? '').trim();
// A wildcard address listens on every interface; loopback is one of them.
const host = configuredHost === '' || configuredHost === '0.0.0.0' ? '127.0.0.1' : configuredHost === '::' ? '::1' : configuredHost;

function check(transport) {
  return new Promise((resolve, reject) => {
    const req = transport.request(
      {
        host,
        port,
        path: '/healthz',
        method: 'GET',
        headers: { accept: 'application/json', host: 'localhost', ...(transport === http ? { 'x-forwarded-proto': 'https' } : {}) },
        agent: false,
        timeout: timeoutMs,
        ...(transport === https ? { rejectUnauthorized: false, servername: 'localhost' } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          if (body.length < 1_024) body += chunk;
        });
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => {
      req.destroy(new Error(`no answer within ${timeoutMs} ms`));
    });
    req.on('error', reject);
    req.end();
  });
}

function isPlainHttpOnTheOtherEnd(error) {
  const code = String(error?.code ?? '');
  return code === 'EPROTO' || code.startsWith('ERR_SSL_');
}

async function main() {
  let answer;
  try {
    answer = await check(https);
  } catch (error) {
    if (!isPlainHttpOnTheOtherEnd(error)) throw error;
    answer = await check(http);
  }
  let status;
  try {
    status = JSON.parse(answer.body).status;
  } catch {
    status = undefined;
  }
  if (answer.status === 200 && status === 'ok') return 0;
  console.error(`healthcheck: /healthz answered ${answer.status}`);
  return 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`healthcheck: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
