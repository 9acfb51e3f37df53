// src/cli/environment.ts
// Shared start-up for commands: read .env, load the configuration, make the logger. Configuration
// problems end the process with one line each and exit code 78.

import { existsSync } from 'node:fs';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { ConfigError } from '../config/config-error.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { ExitCode } from './exit-codes.js';

export interface CommandEnvironment extends LoadedConfig {
  readonly logger: Logger;
}

export class CommandExit extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}

export async function prepareEnvironment(): Promise<CommandEnvironment> {
  // An optional .env in the working directory; variables already set win over it.
  if (existsSync('.env')) process.loadEnvFile('.env');
  try {
    const loaded = await loadConfig();
    const logger = createLogger(loaded.config.log);
    return { ...loaded, logger };
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new CommandExit(ExitCode.config, `portcullis: refusing to start because of the configuration:\n${error.message}`);
    }
    throw error;
  }
}
