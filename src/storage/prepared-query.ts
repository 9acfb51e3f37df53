// src/storage/prepared-query.ts
// Kysely builds an immutable query tree and compiles it to SQL on every call. For the reads every
// signed-in request makes (its session, its user) that cost about as much as running them (issue
// 8's profile), and for the dozen statements of a sign-in, a sixth of its event-loop time. A prepared
// query is built and compiled once per database handle; each call then only binds its values. The
// SQL text is then also the same on every call, so SQLite's statement cache (storage/database.ts)
// finds it, and PostgreSQL runs it as a named statement, parsed and planned once per connection
// (storage/postgres-named-statements.ts).

import { createHash, randomUUID } from 'node:crypto';
import type { Compilable, CompiledQuery, Kysely } from 'kysely';

/** Anything Kysely can run a compiled query on: a database or a transaction. */
type QueryRunner = Pick<Kysely<never>, 'executeQuery'>;

// The SQL of every query prepared here, each with a statement name derived from its text (so every
// instance and connection agrees on it, and two texts never share one). Their number is fixed by
// the code (a few dozen), which is what makes naming them on the server safe: nothing a request
// sends can add one.
const statementNames = new Map<string, string>();

/** The statement name of a query prepared here (PostgreSQL runs it named), undefined for any other SQL. */
export function preparedStatementName(sql: string): string | undefined {
  return statementNames.get(sql);
}

/** What a prepared query binds: values compared or stored as they are (a list: PostgreSQL's `= any($1)` or `unnest($1)`). */
export type BoundValue = string | number | null | readonly (string | null)[];

interface Prepared<Row> {
  readonly query: CompiledQuery<Row>;
  /** For each parameter of the SQL, which argument fills it (-1: a constant of the query). */
  readonly slots: readonly number[];
}

/**
 * `build(db, ...args)` is called once per database handle with markers (unique strings) in place of
 * the arguments; each call binds the real ones wherever the markers were. Arguments must be values
 * the query compares or stores as they are: one computed from in `build` (`at + windowMs`) or
 * written into the SQL (`sql.lit`) would freeze the first call's value, so a marker that does not
 * come out as a parameter, unchanged, is refused when the query is first prepared. An argument may
 * be bound in several places.
 */
export function preparedQuery<Db extends QueryRunner, Row, Args extends BoundValue[] = string[]>(arity: number, build: (db: Db, ...args: Args) => Compilable<Row>): (db: Db, ...args: Args) => Promise<Row[]> {
  // Per handle: a transaction is a handle of its own, prepared when used and dropped with it.
  const prepared = new WeakMap<Db, Prepared<Row>>();
  const markers = Array.from({ length: arity }, (_, index) => `prepared-query-argument-${index}-${randomUUID()}`);

  const prepare = (db: Db): Prepared<Row> => {
    // The markers stand in for arguments of any bound type: only their identity matters here.
    const query = build(db, ...(markers as Args)).compile();
    const slots = query.parameters.map((value) => (typeof value === 'string' ? markers.indexOf(value) : -1));
    markers.forEach((marker, index) => {
      if (!slots.includes(index) || query.sql.includes(marker)) throw new Error(`prepared query: argument ${index} must be bound as a parameter, unchanged`);
    });
    if (!statementNames.has(query.sql)) statementNames.set(query.sql, `portcullis_${createHash('sha256').update(query.sql).digest('hex').slice(0, 24)}`);
    return { query, slots };
  };

  return async (db, ...args) => {
    if (args.length !== arity) throw new Error(`prepared query: expected ${arity} arguments, got ${args.length}`);
    let entry = prepared.get(db);
    if (entry === undefined) {
      entry = prepare(db);
      prepared.set(db, entry);
    }
    const { query, slots } = entry;
    const parameters = query.parameters.map((value, index) => {
      // Both indexes are array positions computed above, never input.
      // eslint-disable-next-line security/detect-object-injection
      const slot = slots[index] ?? -1;
      // eslint-disable-next-line security/detect-object-injection
      return slot < 0 ? value : args[slot];
    });
    const result = await db.executeQuery<Row>({ ...query, parameters });
    return result.rows;
  };
}
