// test/security/session-cookie.test.ts
// The signed-in lane reads the session id from the Cookie header itself (src/security/session-
// cookie.ts), before Express. If it accepted a cookie express-session refuses, a forged cookie
// would get past the lane; if it refused one express-session accepts, the lane would only hand the
// request on (safe, but slower). So both are fed the same headers, genuine and hostile, and must
// agree on every one: express-session, running for real in front of a store that records the id it
// is asked for, is the reference.

import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import session from 'express-session';
import { readSessionId } from '../../src/security/session-cookie.js';

const cookieName = '__Host-pc';
const secret = randomBytes(32).toString('base64');
const otherSecret = randomBytes(32).toString('base64');

/** cookie-signature's sign(), written out independently of the module under test. */
function sign(value: string, key: string = secret): string {
  return `s:${value}.${createHmac('sha256', key).update(value).digest('base64').replace(/=+$/, '')}`;
}

/** A store that finds nothing and remembers which id express-session asked it for. */
class RecordingStore extends session.Store {
  asked: string[] = [];
  override get(sid: string, callback: (error: unknown, data?: session.SessionData | null) => void): void {
    this.asked.push(sid);
    callback(null, null);
  }
  override set(_sid: string, _data: session.SessionData, callback?: (error?: unknown) => void): void {
    callback?.();
  }
  override destroy(_sid: string, callback?: (error?: unknown) => void): void {
    callback?.();
  }
}

describe('reading the session id from the Cookie header, as express-session reads it', () => {
  const store = new RecordingStore();
  let server: http.Server;
  let port: number;

  before(async () => {
    const app = express();
    app.use(session({ name: cookieName, secret, store, resave: false, saveUninitialized: false, cookie: { secure: false } }));
    app.use((_req, res) => {
      res.end('ok');
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  });

  /** The id express-session asks its store for when sent this Cookie header; undefined if none. */
  async function expressSessionReads(cookie: string): Promise<string | undefined> {
    store.asked = [];
    await new Promise<void>((resolve, reject) => {
      const outgoing = http.request({ host: '127.0.0.1', port, path: '/', headers: { cookie } }, (incoming) => {
        incoming.resume();
        incoming.on('end', resolve);
      });
      outgoing.on('error', reject);
      outgoing.end();
    });
    assert.ok(store.asked.length <= 1);
    return store.asked[0];
  }

  const id = randomBytes(32).toString('base64url');
  const genuine = sign(id);
  const headers: Array<[string, string]> = [
    ['genuine, percent-encoded as express-session sets it', `${cookieName}=${encodeURIComponent(genuine)}`],
    ['genuine, not encoded', `${cookieName}=${genuine}`],
    ['genuine, in quotes', `${cookieName}="${genuine}"`],
    ['genuine, with spaces and tabs around', ` \t${cookieName} \t= \t${genuine}\t ; theme=dark`],
    ['genuine among other cookies', `a=1; ${cookieName}=${genuine}; b=2`],
    ['genuine after an empty pair and a bare word', `;; nonsense; ${cookieName}=${genuine}`],
    ['a forged one before the genuine one (the first wins)', `${cookieName}=${sign(id, otherSecret)}; ${cookieName}=${genuine}`],
    ['the genuine one before a forged one', `${cookieName}=${genuine}; ${cookieName}=s:forged.sig`],
    ['signed with another key', `${cookieName}=${sign(id, otherSecret)}`],
    ['signature altered', `${cookieName}=${genuine.slice(0, -1)}${genuine.endsWith('A') ? 'B' : 'A'}`],
    ['id altered', `${cookieName}=s:x${genuine.slice(3)}`],
    ['signature with its padding put back', `${cookieName}=${genuine}=`],
    ['no signature', `${cookieName}=s:${id}`],
    ['no s: prefix', `${cookieName}=${genuine.slice(2)}`],
    ['prefix in capitals', `${cookieName}=S:${genuine.slice(2)}`],
    ['empty value', `${cookieName}=`],
    ['an empty id, genuinely signed', `${cookieName}=${sign('')}`],
    ['an id with dots, genuinely signed', `${cookieName}=${sign('a.b.c')}`],
    ['a Unicode id, genuinely signed and encoded', `${cookieName}=${encodeURIComponent(sign('é🦊'))}`],
    ['broken percent-encoding', `${cookieName}=s:%E0%A4%A.${genuine.slice(genuine.lastIndexOf('.') + 1)}`],
    ['a name that ends with the cookie name', `x${cookieName}=${genuine}`],
    ['the cookie name as a prefix of another', `${cookieName}2=${genuine}`],
    ['the name in another case', `${cookieName.toLowerCase()}=${genuine}`],
    ['a value over eight kilobytes', `${cookieName}=${sign('z'.repeat(8_200))}`],
    ['only separators', ';;;==;'],
  ];

  it('agrees with express-session on every header, genuine or hostile', async () => {
    for (const [what, header] of headers) {
      const reference = await expressSessionReads(header);
      assert.equal(readSessionId(header, cookieName, [secret]), reference, what);
    }
    // The cases exercise both answers: some are accepted, most refused.
    const accepted = headers.filter(([, header]) => readSessionId(header, cookieName, [secret]) !== undefined).length;
    assert.ok(accepted >= 6 && accepted < headers.length - 10, `accepted ${accepted}`);
  });

  it('returns the id itself for a genuine cookie, and nothing without a header', () => {
    assert.equal(readSessionId(`${cookieName}=${encodeURIComponent(genuine)}`, cookieName, [secret]), id);
    assert.equal(readSessionId(undefined, cookieName, [secret]), undefined);
    assert.equal(readSessionId('', cookieName, [secret]), undefined);
  });

  it('tries each secret in turn, as express-session does while a key is being rotated', () => {
    assert.equal(readSessionId(`${cookieName}=${sign(id, otherSecret)}`, cookieName, [secret, otherSecret]), id);
    assert.equal(readSessionId(`${cookieName}=${sign(id, otherSecret)}`, cookieName, [secret]), undefined);
  });
});
