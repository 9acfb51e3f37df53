// src/observability/sqlite-tracing.ts
// Spans for SQLite queries. PostgreSQL has its instrumentation (instrumentation-pg); better-sqlite3
// has none, so storage/database.ts wraps Kysely's SQLite dialect in this one when tracing is on.
// The span carries the parameterised SQL text (Kysely binds every value), never the values.

import { SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely';

const maximumQueryText = 2_000;

function operationOf(sqlText: string): string {
  return (/^\s*([A-Za-z]+)/.exec(sqlText)?.[1] ?? 'QUERY').toUpperCase();
}

function tableOf(sqlText: string): string | undefined {
  return /\b(?:from|into|update|table)\s+"?([A-Za-z_][A-Za-z0-9_]*)"?/i.exec(sqlText)?.[1];
}

class TracedConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly tracer: Tracer,
  ) {}

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const operation = operationOf(compiledQuery.sql);
    const table = tableOf(compiledQuery.sql);
    return this.tracer.startActiveSpan(
      table === undefined ? operation : `${operation} ${table}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system.name': 'sqlite',
          'db.operation.name': operation,
          ...(table === undefined ? {} : { 'db.collection.name': table }),
          'db.query.text': compiledQuery.sql.slice(0, maximumQueryText),
        },
      },
      async (span) => {
        try {
          return await this.inner.executeQuery<R>(compiledQuery);
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }

  streamQuery<R>(compiledQuery: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(compiledQuery, chunkSize);
  }
}

class TracedDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly tracer: Tracer,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    return new TracedConnection(await this.inner.acquireConnection(), this.tracer);
  }
  // Transaction statements go through the traced connection, so BEGIN and COMMIT get spans too.
  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(connection, settings);
  }
  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(connection);
  }
  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(connection);
  }
  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(connection instanceof TracedConnection ? connection.inner : connection);
  }
  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

/** The same dialect, with a span around every statement. */
export function tracedSqliteDialect(dialect: Dialect): Dialect {
  const tracer = trace.getTracer('portcullis-sqlite');
  return {
    createAdapter: () => dialect.createAdapter(),
    createDriver: () => {
      const driver = dialect.createDriver();
      const traced = new TracedDriver(driver, tracer);
      // Savepoints (nested transactions) where the driver has them.
      const withSavepoints = traced as Driver;
      if (driver.savepoint !== undefined) withSavepoints.savepoint = driver.savepoint.bind(driver);
      if (driver.rollbackToSavepoint !== undefined) withSavepoints.rollbackToSavepoint = driver.rollbackToSavepoint.bind(driver);
      if (driver.releaseSavepoint !== undefined) withSavepoints.releaseSavepoint = driver.releaseSavepoint.bind(driver);
      return withSavepoints;
    },
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
  };
}
