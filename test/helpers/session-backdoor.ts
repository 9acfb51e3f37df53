// test/helpers/session-backdoor.ts
// Looking at stored sessions behind the server's back, whichever store holds them (the database's
// sessions table, or Redis with PORTCULLIS_REDIS_URL): tests count them, check one is gone, and
// move a session's clocks without waiting.

import type { RunningServer } from '../../src/server/start.js';

export interface SessionBackdoor {
  /** How many sessions are stored. */
  count(): Promise<number>;
  /** How many sessions of one user are stored (expired ones included until they are removed). */
  countForUser(userId: string): Promise<number>;
  exists(hashedId: string): Promise<boolean>;
  /** The session's data as express-session keeps it; throws when there is none. */
  read(hashedId: string): Promise<Record<string, unknown>>;
  write(hashedId: string, data: Record<string, unknown>): Promise<void>;
  /** When the session's activity was last recorded (ms). */
  seenAt(hashedId: string): Promise<number>;
  /** Moves the session's last recorded activity, as if it were that old. */
  setSeenAt(hashedId: string, at: number): Promise<void>;
  /** Makes the session's idle limit pass now, as if it had been left alone too long. */
  expireIdle(hashedId: string): Promise<void>;
}

export function sessionBackdoor(server: RunningServer): SessionBackdoor {
  const redis = server.shared.redis;
  const db = server.db;
  if (redis === undefined) {
    return {
      async count() {
        const row = await db.selectFrom('sessions').select((eb) => eb.fn.countAll<number | string | bigint>().as('n')).executeTakeFirstOrThrow();
        return Number(row.n);
      },
      async countForUser(userId) {
        return (await db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute()).length;
      },
      async exists(hashedId) {
        return (await db.selectFrom('sessions').select('id').where('id', '=', hashedId).executeTakeFirst()) !== undefined;
      },
      async read(hashedId) {
        const row = await db.selectFrom('sessions').select('data').where('id', '=', hashedId).executeTakeFirstOrThrow();
        return JSON.parse(row.data) as Record<string, unknown>;
      },
      async write(hashedId, data) {
        await db.updateTable('sessions').set({ data: JSON.stringify(data) }).where('id', '=', hashedId).execute();
      },
      async seenAt(hashedId) {
        const row = await db.selectFrom('sessions').select('last_seen_at').where('id', '=', hashedId).executeTakeFirstOrThrow();
        return row.last_seen_at;
      },
      async setSeenAt(hashedId, at) {
        await db.updateTable('sessions').set({ last_seen_at: at }).where('id', '=', hashedId).execute();
      },
      async expireIdle(hashedId) {
        await db.updateTable('sessions').set({ idle_expires_at: Date.now() - 1 }).where('id', '=', hashedId).execute();
      },
    };
  }
  const sessionKey = (hashedId: string) => `${redis.prefix}sess:${hashedId}`;
  const keys = async (pattern: string): Promise<string[]> => {
    const found: string[] = [];
    let cursor = '0';
    for (let round = 0; round < 10_000; round += 1) {
      const reply = (await redis.command(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'])) as [string, string[]];
      cursor = reply[0];
      found.push(...reply[1]);
      if (cursor === '0') break;
    }
    return found;
  };
  return {
    async count() {
      return (await keys(`${redis.prefix}sess:*`)).length;
    },
    async countForUser(userId) {
      let count = 0;
      for (const key of await keys(`${redis.prefix}sess:*`)) if ((await redis.command(['HGET', key, 'u'])) === userId) count += 1;
      return count;
    },
    async exists(hashedId) {
      return (await redis.command(['EXISTS', sessionKey(hashedId)])) === 1;
    },
    async read(hashedId) {
      const data = await redis.command(['HGET', sessionKey(hashedId), 'd']);
      if (typeof data !== 'string') throw new Error('no such session');
      return JSON.parse(data) as Record<string, unknown>;
    },
    async write(hashedId, data) {
      await redis.command(['HSET', sessionKey(hashedId), 'd', JSON.stringify(data)]);
    },
    async seenAt(hashedId) {
      const seen = await redis.command(['HGET', sessionKey(hashedId), 's']);
      if (typeof seen !== 'string') throw new Error('no such session');
      return Number(seen);
    },
    async setSeenAt(hashedId, at) {
      await redis.command(['HSET', sessionKey(hashedId), 's', String(at)]);
    },
    async expireIdle(hashedId) {
      // The store reads the idle limit from the entry (Redis's own expiry comes later).
      await redis.command(['HSET', sessionKey(hashedId), 'i', String(Date.now() - 1)]);
    },
  };
}

/** Deletes every key under a prefix (a test server's own), so the shared Redis stays clean. */
export async function deleteRedisPrefix(command: (args: string[]) => Promise<unknown>, prefix: string): Promise<void> {
  let cursor = '0';
  for (let round = 0; round < 10_000; round += 1) {
    const reply = (await command(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000'])) as [string, string[]];
    cursor = reply[0];
    if (reply[1].length > 0) await command(['DEL', ...reply[1]]);
    if (cursor === '0') return;
  }
}
