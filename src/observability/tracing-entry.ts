// src/observability/tracing-entry.ts
// Imported first by main.ts, for its side effect: starts OpenTelemetry tracing before anything
// that tracing patches (http, express, pg, redis) is loaded, when OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set. Without them it loads nothing. See tracing.ts.

import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { startTracingFromEnvironment } from './tracing.js';

// The commands read .env later (cli/environment.ts); its OTEL_* lines are needed now. Variables
// already in the environment win, as they do there.
if (existsSync('.env')) {
  for (const [name, value] of Object.entries(parseEnv(readFileSync('.env', 'utf8')))) {
    // eslint-disable-next-line security/detect-object-injection -- names are checked against the OTEL_ prefix
    if (name.startsWith('OTEL_') && process.env[name] === undefined) process.env[name] = value;
  }
}

startTracingFromEnvironment(process.env);
