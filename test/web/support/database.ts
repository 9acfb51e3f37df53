// test/web/support/database.ts
// Looking behind the server's back: row counts to prove nothing was stored half-way, and the two
// clocks tests cannot wait for (a link's expiry, the 10-minute re-authentication window).

import { hashToken } from '../../../src/accounts/tokens.js';
import type { TestServer } from '../../helpers/test-server.js';

export async function countRows(server: TestServer): Promise<{ users: number; tokens: number; sessions: number }> {
  const db = server.server.db;
  const count = async (table: 'users' | 'one_time_tokens') => {
    const row = await db.selectFrom(table).select((eb) => eb.fn.countAll<number | string | bigint>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  };
  // Sessions may be in Redis (PORTCULLIS_TEST_REDIS_URL): counted wherever the server keeps them.
  return { users: await count('users'), tokens: await count('one_time_tokens'), sessions: await server.sessions.count() };
}

export async function findUser(server: TestServer, email: string) {
  return server.server.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
}

/** Makes an emailed link's token expire now, as if its lifetime had passed. */
export async function expireToken(server: TestServer, token: string): Promise<void> {
  const result = await server.server.db.updateTable('one_time_tokens').set({ expires_at: Date.now() - 1 }).where('token_hash', '=', hashToken(token)).executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) throw new Error('no such token to expire');
}

/** Moves a session's last password proof `ms` into the past. */
export async function ageReauthentication(server: TestServer, hashedSessionId: string, ms: number): Promise<void> {
  const data = (await server.sessions.read(hashedSessionId)) as { reauthenticatedAt?: number };
  data.reauthenticatedAt = (data.reauthenticatedAt ?? Date.now()) - ms;
  await server.sessions.write(hashedSessionId, data);
}

export async function sessionExists(server: TestServer, hashedSessionId: string | undefined): Promise<boolean> {
  if (hashedSessionId === undefined) return false;
  return server.sessions.exists(hashedSessionId);
}

export async function makeAdmin(server: TestServer, email: string): Promise<void> {
  await server.server.db.updateTable('users').set({ role: 'admin' }).where('email', '=', email).execute();
}
