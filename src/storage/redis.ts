// src/storage/redis.ts
// The one Redis connection an instance shares between sessions, rate-limit counters and sign-in
// throttling. It fails fast while Redis is away (no offline queue: a request gets a 503 at once
// instead of hanging), reconnects by itself with a bounded backoff, and never lets an 'error'
// event crash the process. Lua scripts run by SHA and are re-sent after a Redis restart.

import { createHash } from 'node:crypto';
import { createClient, ErrorReply } from 'redis';
import type { RedisConfig } from '../config/config.js';
import { AppError } from '../errors/app-error.js';
import type { Logger } from '../observability/logger.js';

/** What every Redis reply can be once parsed (RESP2 or RESP3, Lua scripts included). */
export type RedisReply = string | number | null | RedisReply[] | { [key: string]: RedisReply };

export interface RedisConnection {
  /** True while commands can be sent; false while Redis is unreachable and the client reconnects. */
  isReady(): boolean;
  /** Sends one command; rejects with SERVICE_UNAVAILABLE when Redis cannot answer. */
  command(args: readonly string[]): Promise<RedisReply>;
  /** Runs a Lua script (EVALSHA, then EVAL when the server does not know it yet). */
  script(script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<RedisReply>;
  /** The deployment's key prefix, to be prepended by each store. */
  readonly prefix: string;
  /** Resolves once connected, or after timeoutMs; reports which. */
  waitUntilReady(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

export function luaScript(source: string): LuaScript {
  const trimmed = source.replace(/^\s+/gm, '').trim();
  return { source: trimmed, sha: createHash('sha1').update(trimmed, 'utf8').digest('hex') };
}

/** Waits between reconnection attempts: 50 ms doubling to 2 s, with jitter so instances do not stampede. */
export function reconnectDelay(retries: number): number {
  const ceiling = Math.min(2_000, 50 * 2 ** Math.min(retries, 10));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** How often the same Redis error is logged while the connection is down. */
const errorLogIntervalMs = 30_000;

/** A command Redis has not answered within this long fails with SERVICE_UNAVAILABLE (node-redis's own default). */
export const defaultCommandTimeoutMs = 5_000;

/**
 * The commands sent and not yet answered, oldest first, failed once older than the timeout by a
 * timer that looks at them a few times per timeout (issue 8). node-redis's own per-command timeout
 * made an AbortSignal with a timer of its own for every command, which also fired, built a
 * DOMException and dispatched an event five seconds after a command had long been answered: about
 * 15 µs of CPU per command, a tenth of a signed-in page on Redis. Here a command costs a Set entry,
 * and a stalled Redis still fails a request within the same bound (plus a quarter of it at most).
 */
function createCommandWatchdog(timeoutMs: number) {
  interface Waiting {
    readonly sentAt: number;
    readonly fail: (error: Error) => void;
  }
  const waiting = new Set<Waiting>();
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const oldestAllowed = performance.now() - timeoutMs;
    // A Set iterates in insertion order, and commands are added as they are sent.
    for (const entry of waiting) {
      if (entry.sentAt > oldestAllowed) break;
      waiting.delete(entry);
      entry.fail(new Error(`Redis did not answer within ${timeoutMs} ms`));
    }
    if (waiting.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  return {
    /** Runs `send`, failing its promise if no answer comes within the timeout. */
    watch<T>(send: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const entry: Waiting = { sentAt: performance.now(), fail: reject };
        waiting.add(entry);
        if (timer === undefined) {
          timer = setInterval(check, Math.max(10, timeoutMs / 4));
          // Waiting commands never keep a process alive.
          timer.unref();
        }
        send().then(
          (value) => {
            waiting.delete(entry);
            resolve(value);
          },
          (error: unknown) => {
            waiting.delete(entry);
            reject(error instanceof Error ? error : new Error(String(error)));
          },
        );
      });
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}

export interface ConnectOptions {
  /** How long a command may wait for its answer; default defaultCommandTimeoutMs. */
  readonly commandTimeoutMs?: number;
}

export function connectRedis(config: RedisConfig, logger: Logger, options: ConnectOptions = {}): RedisConnection {
  const watchdog = createCommandWatchdog(options.commandTimeoutMs ?? defaultCommandTimeoutMs);
  const client = createClient({
    url: config.url,
    // Command timeouts are the watchdog's (above), not one timer per command.
    commandOptions: { timeout: 0 },
    // Commands sent while disconnected fail at once (and the request answers 503) rather than
    // waiting in a queue for a Redis that may be gone for minutes.
    disableOfflineQueue: true,
    commandsQueueMaxLength: 10_000,
    // Notices a silently dropped connection (a restarted Redis behind NAT) within seconds.
    pingInterval: 5_000,
    socket: {
      connectTimeout: 2_000,
      // node-redis closes a socket that has been idle (nothing sent or received) this long and
      // reconnects. Three ping intervals: a dead connection is noticed within 15 s, while a
      // healthy but quiet one whose ping comes late (a busy event loop delays the timer) is not
      // dropped. (Equal to the ping interval, it raced the ping under load: the connection
      // flapped, and for a moment every page that needs a session answered 503.)
      socketTimeout: 15_000,
      // Never gives up: the instance recovers by itself when Redis returns, no restart needed.
      reconnectStrategy: (retries: number) => reconnectDelay(retries),
    },
  });
  let lastLogged = 0;
  let lastMessage = '';
  let down = false;
  // Without a listener an 'error' event would throw and end the process.
  client.on('error', (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    const now = Date.now();
    if (message !== lastMessage || now - lastLogged >= errorLogIntervalMs) {
      // The URL may hold a password: only the message is logged.
      logger.warn({ code: 'REDIS_UNAVAILABLE', error: message }, 'Redis connection error; reconnecting');
      lastLogged = now;
      lastMessage = message;
    }
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.info({ code: 'REDIS_RECOVERED' }, 'Redis connection restored');
    down = false;
    lastMessage = '';
  });

  const connecting = client.connect().then(
    () => true,
    (error: unknown) => {
      // Only when the client was closed while connecting; nothing to report.
      logger.debug({ error: error instanceof Error ? error.message : String(error) }, 'Redis connect ended');
      return false;
    },
  );

  const unavailable = (error: unknown) => new AppError('SERVICE_UNAVAILABLE', { cause: error });

  const command = async (args: readonly string[]): Promise<RedisReply> => {
    if (!client.isReady) throw unavailable(new Error('Redis is not connected'));
    try {
      return await watchdog.watch(() => client.sendCommand<RedisReply>([...args]));
    } catch (error) {
      // Errors Redis itself answers (a script error, a wrong type) are bugs, not outages.
      if (error instanceof ErrorReply && !/^(NOSCRIPT|LOADING|BUSY|MASTERDOWN|READONLY)\b/.test(error.message)) throw error;
      throw unavailable(error);
    }
  };

  return {
    prefix: config.prefix,
    isReady: () => client.isReady,
    command,
    async script(script, keys, args) {
      const rest = [String(keys.length), ...keys, ...args.map(String)];
      try {
        return await command(['EVALSHA', script.sha, ...rest]);
      } catch (error) {
        const cause = error instanceof AppError ? error.cause : error;
        if (!(cause instanceof Error) || !cause.message.startsWith('NOSCRIPT')) throw error;
        // A Redis that restarted (or a new one) has no scripts cached: EVAL caches it again.
        return command(['EVAL', script.source, ...rest]);
      }
    },
    async waitUntilReady(timeoutMs) {
      if (client.isReady) return true;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => {
          resolve(false);
        }, timeoutMs);
      });
      try {
        return await Promise.race([connecting, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      watchdog.stop();
      if (client.isOpen) {
        try {
          if (client.isReady) await client.close();
          else client.destroy();
        } catch {
          client.destroy();
        }
      }
      await connecting;
    },
  };
}

/** Reads a reply as a non-negative integer (counts, times); anything else is a bug. */
export function integerReply(reply: RedisReply | undefined): number {
  const value = typeof reply === 'string' ? Number(reply) : reply;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error('unexpected reply from Redis');
  return value;
}

export function arrayReply(reply: RedisReply): RedisReply[] {
  if (!Array.isArray(reply)) throw new Error('unexpected reply from Redis');
  return reply;
}

export function stringOrNull(reply: RedisReply | undefined): string | null {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === 'string') return reply;
  if (typeof reply === 'number') return String(reply);
  throw new Error('unexpected reply from Redis');
}
