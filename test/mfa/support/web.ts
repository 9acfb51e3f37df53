// test/mfa/support/web.ts
// Two-step verification through the real server: TOTP codes that are never reused (two per
// 30-second step, waiting for the next step when both are spent), enrolment and sign-in through
// the API and through the pages, and edits to a stored session (to age its proofs).

import { totpCodeAt, totpStep } from '../../../src/accounts/mfa/totp.js';
import type { TestServer } from '../../helpers/test-server.js';
import type { TestResponse } from '../../helpers/https-client.js';
import type { WebClient } from '../../web/support/client.js';

const stepMs = 30_000;
const lastUsed = new Map<string, number>();

/**
 * A code the server will take once: for the current step or the next, never one already handed
 * out for this secret. Waits for the next step when both are used up.
 */
export async function nextTotpCode(secret: string): Promise<string> {
  for (;;) {
    const current = totpStep(Date.now());
    const candidate = Math.max((lastUsed.get(secret) ?? -Infinity) + 1, current);
    if (candidate <= current + 1) {
      lastUsed.set(secret, candidate);
      return totpCodeAt(secret, candidate * stepMs);
    }
    await new Promise((resolve) => setTimeout(resolve, (current + 1) * stepMs - Date.now() + 50));
  }
}

/** A code that is certainly wrong for this secret now (and in the steps either side). */
export function wrongTotpCode(secret: string): string {
  const now = Date.now();
  const taken = new Set([-1, 0, 1, 2].map((offset) => totpCodeAt(secret, now + offset * stepMs)));
  for (let value = 0; ; value += 1) {
    const code = String(value).padStart(6, '0');
    if (!taken.has(code)) return code;
  }
}

export function expectStatus(response: TestResponse, status: number, what: string): TestResponse {
  if (response.status !== status) throw new Error(`${what}: expected ${status}, got ${response.status}: ${response.body.slice(0, 400)}`);
  return response;
}

/** Turns on the authenticator app through the API (the session must be fresh); returns the seed and codes. */
export async function enrolTotpByApi(client: WebClient): Promise<{ secret: string; recoveryCodes: string[] }> {
  const started = expectStatus(await client.api('POST', '/me/mfa/totp'), 201, 'start TOTP enrolment');
  const { secret } = started.json() as { secret: string };
  const confirmed = expectStatus(await client.api('POST', '/me/mfa/totp/confirm', { code: await nextTotpCode(secret) }), 200, 'confirm TOTP');
  return { secret, recoveryCodes: (confirmed.json() as { recoveryCodes: string[] }).recoveryCodes };
}

/** Password then TOTP through the API; returns the second answer. */
export async function apiSignInWithTotp(client: WebClient, email: string, password: string, secret: string): Promise<TestResponse> {
  const first = expectStatus(await client.api('POST', '/auth/sign-in', { email, password }), 200, 'API sign-in');
  if ((first.json() as { mfaRequired?: boolean }).mfaRequired !== true) throw new Error('expected a second factor to be due');
  return expectStatus(await client.api('POST', '/auth/mfa/totp', { code: await nextTotpCode(secret) }), 200, 'API second factor');
}

/** The seed as the setup page shows it (grouped in fours). */
export function secretOnPage(body: string): string {
  const found = /<code id="totp-secret" class="secret">([A-Z2-7 ]+)<\/code>/.exec(body)?.[1];
  if (found === undefined) throw new Error('no setup key on the page');
  return found.replace(/ /g, '');
}

export function recoveryCodesOnPage(body: string): string[] {
  return [...body.matchAll(/<li><code>([0-9A-Z]{5}-[0-9A-Z]{5})<\/code><\/li>/g)].map((match) => match[1] ?? '');
}

/** Turns on the authenticator app through the pages; returns the seed and the codes shown. */
export async function enrolTotpByPages(client: WebClient): Promise<{ secret: string; recoveryCodes: string[] }> {
  await client.get('/account/mfa');
  expectStatus(await client.submit('/account/mfa/totp', {}), 303, 'start enrolment');
  const setup = expectStatus(await client.get('/account/mfa/totp'), 200, 'setup page');
  const secret = secretOnPage(setup.body);
  const confirmed = expectStatus(await client.submit('/account/mfa/totp/confirm', { code: await nextTotpCode(secret) }), 303, 'confirm');
  if (confirmed.headers.location !== '/account/mfa/recovery-codes') return { secret, recoveryCodes: [] };
  const codes = expectStatus(await client.get('/account/mfa/recovery-codes'), 200, 'recovery codes page');
  return { secret, recoveryCodes: recoveryCodesOnPage(codes.body) };
}

/** Password then TOTP through the pages; returns the second-factor answer (303 on success). */
export async function pageSignInWithTotp(client: WebClient, email: string, password: string, secret: string): Promise<TestResponse> {
  await client.get('/sign-in');
  const first = expectStatus(await client.submit('/sign-in', { email, password, return: '/account' }), 303, 'sign-in');
  if (first.headers.location !== '/second-factor') throw new Error(`expected the second-factor step, went to ${String(first.headers.location)}`);
  expectStatus(await client.get('/second-factor'), 200, 'second-factor page');
  return client.submit('/second-factor/totp', { code: await nextTotpCode(secret) });
}

type SessionData = Record<string, unknown> & { reauthenticatedAt?: number; secondFactorAt?: number; pendingSignIn?: { startedAt: number } };

/** Rewrites a stored session's data (to move its proofs into the past), in whichever store holds it. */
export async function editSession(server: TestServer, hashedSessionId: string | undefined, edit: (data: SessionData) => void): Promise<void> {
  if (hashedSessionId === undefined) throw new Error('no session');
  const data = (await server.sessions.read(hashedSessionId)) as SessionData;
  edit(data);
  await server.sessions.write(hashedSessionId, data);
}

export async function sessionData(server: TestServer, hashedSessionId: string | undefined): Promise<SessionData | undefined> {
  if (hashedSessionId === undefined || !(await server.sessions.exists(hashedSessionId))) return undefined;
  return server.sessions.read(hashedSessionId);
}
