// src/storage/postgres-named-statements.ts
// PostgreSQL parses and plans every unnamed statement anew. For the account read every signed-in
// request makes, that is half of what the server spends on it: about 70 µs of its CPU unnamed
// against 32 µs as a named statement on this project's build machine (issue 8), on the same cores
// the application needs. The queries of storage/prepared-query.ts have fixed SQL texts, a few
// dozen in all; this pool hands exactly those to pg as named statements, which pg parses once per
// connection and afterwards only binds and runs. Every other statement stays unnamed.
//
// Three hazards, and what is done about them:
// - A plan cached before a migration changes a table's columns fails with "cached plan must not
//   change result type" (0A000); a name the server no longer knows (DISCARD ALL, a pooler handing
//   us another server connection) fails with 26000, and a name already taken there with 42P05. All
//   three are raised before the statement runs, so outside a transaction the call is run again,
//   unnamed, and the statement gets a fresh name on this connection for the next call.
// - Inside a transaction that error would already have aborted the transaction, so statements
//   there stay unnamed: only the reads made outside one (every signed-in request's) are named.
// - PgBouncer in transaction mode before 1.21 does not keep named statements at all; every call
//   would then fail once and run again. PORTCULLIS_DATABASE_PREPARED_STATEMENTS=off turns naming off.

import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type pg from 'pg';
import { preparedStatementName } from './prepared-query.js';

/** SQLSTATEs of a named statement the server cannot run as prepared (see above). */
const staleStatementCodes = new Set(['0A000', '26000', '42P05']);

function isStaleStatementError(error: unknown): boolean {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' && staleStatementCodes.has(error.code);
}

/** One pg client as Kysely sees it, naming the prepared queries' statements. */
class NamingClient implements PostgresPoolClient {
  readonly #client: pg.PoolClient;
  /** Per statement text: how many times its name went stale on this connection. */
  readonly #generations = new Map<string, number>();

  constructor(client: pg.PoolClient) {
    this.#client = client;
  }

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(sqlOrCursor: string | PostgresCursor<R>, parameters?: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    // A cursor (a streamed query; pg-cursor is a pg Submittable) goes through untouched.
    if (typeof sqlOrCursor !== 'string') return this.#client.query(sqlOrCursor as PostgresCursor<R> & pg.Submittable);
    const values = [...(parameters ?? [])];
    const baseName = preparedStatementName(sqlOrCursor);
    // 'I': idle, not inside a transaction (see above).
    const result = baseName === undefined || this.#client.getTransactionStatus() !== 'I' ? this.#client.query(sqlOrCursor, values) : this.#named(sqlOrCursor, baseName, values);
    // pg's result is Kysely's, with the command tag typed as a plain string.
    return result as Promise<PostgresQueryResult<R>>;
  }

  async #named(sql: string, baseName: string, values: unknown[]): Promise<pg.QueryResult> {
    const generation = this.#generations.get(sql) ?? 0;
    const name = generation === 0 ? baseName : `${baseName}_${generation}`;
    try {
      return await this.#client.query({ name, text: sql, values });
    } catch (error) {
      if (!isStaleStatementError(error)) throw error;
      // The old name is left to the connection (it goes with it): a migration or a pooler's
      // reshuffle is rare, and a DEALLOCATE would be one more round trip on this request.
      this.#generations.set(sql, generation + 1);
      return this.#client.query(sql, values);
    }
  }

  release(destroy?: boolean): void {
    this.#client.release(destroy);
  }
}

/**
 * Kysely's pool over pg's, running the statements of storage/prepared-query.ts as named
 * statements. pg keeps a client per connection; each gets one NamingClient for its life, so Kysely
 * (which keeps its own connection object per client) sees the same client every time.
 */
export function namingPreparedStatements(pool: pg.Pool): PostgresPool {
  const clients = new WeakMap<pg.PoolClient, NamingClient>();
  return {
    async connect() {
      const client = await pool.connect();
      let naming = clients.get(client);
      if (naming === undefined) {
        naming = new NamingClient(client);
        clients.set(client, naming);
      }
      return naming;
    },
    end: () => pool.end(),
  };
}
