// test/web/support/harness.ts
// A real Portcullis over HTTPS with a real SMTP server in-process: account emails travel through
// nodemailer to test/helpers/smtp.ts and the tests follow the links inside. bcrypt runs at cost 10
// (the OWASP floor) to keep the suite fast.

import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { extractLink, startSmtpServer, type ReceivedMessage, type TestSmtpServer } from '../../helpers/smtp.js';
import { startTestServer, type TestServer } from '../../helpers/test-server.js';
import { WebClient } from './client.js';

/** Passwords the policy accepts: long, not on the blocklist, zxcvbn 3 or more. */
export const passwords = {
  first: 'violet kettle harbour 90 lamp',
  second: 'quiet orchard ferry 47 mosaic',
  third: 'amber lantern gravel 63 otter',
  /** Unicode: accents, CJK and an emoji (a code point beyond the BMP), well over 15 code points. */
  unicode: 'Ünïcødé 山の上の月 🦊 crème brûlée',
  /** 200 characters, all significant. */
  long: 'correct-horse-battery-staple-'.repeat(7).slice(0, 200),
} as const;

export interface AccountsHarness {
  readonly server: TestServer;
  readonly smtp: TestSmtpServer;
  /** A new client with an empty cookie jar, like a fresh browser. */
  client(options?: { userAgent?: string }): WebClient;
  /** The next email to `to` whose subject matches, and the link in it to `path`. */
  linkFromEmail(to: string, path: string, subject?: RegExp): Promise<{ message: ReceivedMessage; link: URL }>;
  close(): Promise<void>;
}

/** A loopback port free right now (for a server that must know its public URL before it listens). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => {
    resolve();
  }));
  return port;
}

export interface HarnessOptions {
  /**
   * Serve at https://localhost:PORT and make that the public URL, so emailed links and the
   * Origin a real browser sends name the server itself (the default public URL is a placeholder).
   */
  readonly publicUrlIsReal?: boolean;
}

export async function startAccountsHarness(env: Record<string, string> = {}, options: HarnessOptions = {}): Promise<AccountsHarness> {
  const smtp = await startSmtpServer();
  let server: TestServer;
  try {
    const port = options.publicUrlIsReal === true ? await freePort() : undefined;
    const addressing: Record<string, string> = port === undefined ? {} : { PORTCULLIS_HTTPS_PORT: String(port), PORTCULLIS_PUBLIC_URL: `https://localhost:${port}` };
    server = await startTestServer({ PORTCULLIS_SMTP_URL: smtp.url, PORTCULLIS_BCRYPT_COST: '10', ...addressing, ...env });
  } catch (error) {
    await smtp.close();
    throw error;
  }
  return {
    server,
    smtp,
    client: (options = {}) => new WebClient(server, options),
    async linkFromEmail(to, path, subject) {
      const message = await smtp.waitForMessage(to, (candidate) => (subject === undefined || subject.test(candidate.subject)) && hasLink(candidate, path), 10_000);
      return { message, link: extractLink(message, path) };
    },
    async close() {
      await server.close();
      await smtp.close();
    },
  };
}

function hasLink(message: ReceivedMessage, path: string): boolean {
  try {
    extractLink(message, path);
    return true;
  } catch {
    return false;
  }
}

/** Signs up through the pages and follows the emailed link; returns the client, signed out. */
export async function signUpAndVerify(harness: AccountsHarness, email: string, password: string = passwords.first, client: WebClient = harness.client()): Promise<WebClient> {
  await client.get('/sign-up');
  const signUp = await client.submit('/sign-up', { email, password, displayName: '' });
  if (signUp.status !== 303) throw new Error(`sign-up answered ${signUp.status}: ${pageText(signUp.body)}`);
  const { link } = await harness.linkFromEmail(email, '/verify-email');
  await client.get(link.pathname + link.search);
  const verified = await client.submit('/verify-email', { token: link.searchParams.get('token') ?? '' });
  if (verified.status !== 303) throw new Error(`verification answered ${verified.status}`);
  return client;
}

/** A verified account, signed in through the sign-in page. */
export async function signedInUser(harness: AccountsHarness, email: string, password: string = passwords.first): Promise<WebClient> {
  const client = await signUpAndVerify(harness, email, password);
  await client.signIn(email, password);
  return client;
}

/** What a page says in its main region, as text (for error messages: the head is all chrome). */
export function pageText(body: string): string {
  const main = /<main[^>]*>([\s\S]*?)<\/main>/.exec(body)?.[1] ?? body;
  return main.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 500);
}
