// src/observability/tracing.ts
// OpenTelemetry tracing, off unless an OTLP endpoint is configured with the standard variables
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; the protocol, headers,
// sampler and service name come from their usual OTEL_* variables too). Spans cover the HTTP
// server, Express routes, PostgreSQL (pg), Redis and, through storage/database.ts, SQLite.
//
// Why this is loaded the way it is: instrumentation patches http, express, pg and redis as they
// are loaded, so it must run before any of them is. main.ts imports tracing-entry.ts first, which
// calls startTracingFromEnvironment() synchronously: an `await import()` would let the sibling
// imports of main.ts (and pg behind them) evaluate first. The SDK is required, not imported, and
// only when tracing is on, so a server without tracing never loads it. ESM modules loaded later
// (express, which `serve` imports lazily) are hooked through import-in-the-middle, registered
// here for the instrumented packages only.

import { createRequire, register } from 'node:module';
import type * as ImportInTheMiddle from 'import-in-the-middle';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import type * as InstrumentationExpress from '@opentelemetry/instrumentation-express';
import type * as InstrumentationHttp from '@opentelemetry/instrumentation-http';
import type * as InstrumentationPg from '@opentelemetry/instrumentation-pg';
import type * as InstrumentationRedis from '@opentelemetry/instrumentation-redis';
import type * as SdkNode from '@opentelemetry/sdk-node';
import type { NodeSDK, NodeSDKConfiguration } from '@opentelemetry/sdk-node';

/** True when the environment asks for traces: an OTLP endpoint is set and nothing turns them off. */
export function tracingRequested(env: Readonly<Record<string, string | undefined>>): boolean {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (endpoint === undefined || endpoint.trim() === '') return false;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  return env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() !== 'none';
}

/** Query parameters whose values never reach a span (tokens travel in emailed links). */
export const redactedQueryParameters: readonly string[] = Object.freeze(['token', 'code', 'secret', 'email', 'q', 'return', 'sig', 'signature', 'key']);

/** Requests that are not worth a trace: health checks and scrapes. */
const untracedPaths: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/livez', '/metrics']);

let running: NodeSDK | undefined;

/** True once startTracingFromEnvironment() has started the SDK in this process. */
export function isTracingActive(): boolean {
  return running !== undefined;
}

/**
 * Starts the SDK when tracingRequested(env); synchronous on purpose (see the top of this file).
 * Returns whether tracing is on. Safe to call twice.
 */
export function startTracingFromEnvironment(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  if (running !== undefined) return true;
  if (!tracingRequested(env)) return false;
  const require = createRequire(import.meta.url);

  // Hook only the packages instrumented below when they are imported as ESM.
  const iitm = require('import-in-the-middle') as typeof ImportInTheMiddle;
  const { registerOptions } = iitm.createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

  const { NodeSDK: Sdk } = require('@opentelemetry/sdk-node') as typeof SdkNode;
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof InstrumentationHttp;
  const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express') as typeof InstrumentationExpress;
  const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg') as typeof InstrumentationPg;
  const { RedisInstrumentation } = require('@opentelemetry/instrumentation-redis') as typeof InstrumentationRedis;

  const instrumentations: Instrumentation[] = [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (request) => untracedPaths.has((request.url ?? '').split('?', 1)[0] ?? ''),
      redactedQueryParamsServer: [...redactedQueryParameters],
      redactedQueryParams: [...redactedQueryParameters],
    }),
    new ExpressInstrumentation(),
    // Statements are parameterised, so their text holds no values; values are never recorded.
    new PgInstrumentation({ enhancedDatabaseReporting: false }),
    // The command name only: arguments carry session data and counters' keys.
    new RedisInstrumentation({ dbStatementSerializer: (command: string) => command }),
  ];
  const configuration: Partial<NodeSDKConfiguration> = {
    instrumentations,
    // Traces only: metrics are Prometheus's (metrics.ts) and logs go to stdout.
    metricReaders: [],
    logRecordProcessors: [],
    ...(env.OTEL_SERVICE_NAME === undefined || env.OTEL_SERVICE_NAME === '' ? { serviceName: 'portcullis' } : {}),
  };
  const sdk = new Sdk(configuration);
  sdk.start();
  running = sdk;
  return true;
}

/** Flushes and stops the SDK (spans still buffered are exported); a no-op when tracing is off. */
export async function stopTracing(): Promise<void> {
  const sdk = running;
  running = undefined;
  await sdk?.shutdown();
}
