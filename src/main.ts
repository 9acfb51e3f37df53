#!/usr/bin/env node
// src/main.ts
// The `portcullis` command: one entry, a subcommand per job. Later commands (user, check, audit)
// register here beside serve and migrate.

// First, for its side effect: when OTEL_EXPORTER_OTLP_ENDPOINT is set, tracing must patch http,
// express, pg and redis before anything below loads them (observability/tracing.ts).
import './observability/tracing-entry.js';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ExitCode } from './cli/exit-codes.js';
import { CommandExit } from './cli/environment.js';
import { stopTracing } from './observability/tracing.js';

interface CommandModule {
  readonly help: string;
  /** Options the command accepts besides --help. */
  readonly options?: ParseArgsConfig['options'];
  readonly allowPositionals?: boolean;
  run(parsed: { values: Record<string, unknown>; positionals: string[] }): Promise<number>;
}

interface Command {
  readonly summary: string;
  /** Each command's code is loaded only when that command runs: `--help` and typos stay instant. */
  load(): Promise<CommandModule>;
}

const commands = new Map<string, Command>([
  [
    'serve',
    {
      summary: 'start the server (what npm start runs)',
      load: async () => {
        const { runServe, serveHelp } = await import('./cli/serve.js');
        return { help: serveHelp, run: () => runServe() };
      },
    },
  ],
  [
    'migrate',
    {
      summary: 'apply pending database migrations and exit',
      load: async () => {
        const { migrateHelp, runMigrate } = await import('./cli/migrate.js');
        return { help: migrateHelp, run: () => runMigrate() };
      },
    },
  ],
  [
    'user',
    {
      summary: 'create, import and list users; change roles (the first admin comes from here)',
      load: async () => {
        const { runUser, userHelp, userOptions } = await import('./cli/user.js');
        return { help: userHelp, options: userOptions, allowPositionals: true, run: runUser };
      },
    },
  ],
  [
    'check',
    {
      summary: 'audit a site (URL) or a project folder against the eleven practices',
      load: async () => {
        const { checkHelp, checkOptions, runCheck } = await import('./cli/check.js');
        return { help: checkHelp, options: checkOptions, allowPositionals: true, run: runCheck };
      },
    },
  ],
  [
    'audit',
    {
      summary: "verify the audit trail's hash chain, export it as JSON Lines, prune it",
      load: async () => {
        const { auditHelp, auditOptions, runAudit } = await import('./cli/audit.js');
        return { help: auditHelp, options: auditOptions, allowPositionals: true, run: runAudit };
      },
    },
  ],
]);

function mainHelp(): string {
  const width = Math.max(...[...commands.keys()].map((name) => name.length));
  const lines = [...commands.entries()].map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return `Usage: portcullis <command> [options]

Commands:
${lines.join('\n')}

Run "portcullis <command> --help" for a command's options.
Settings come from PORTCULLIS_* environment variables (or .env); see README.md.`;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    // A usage error: the usage goes to stderr, so a script piping stdout does not take it for output.
    process.stderr.write(`portcullis: no command given\n\n${mainHelp()}\n`);
    return ExitCode.usage;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${mainHelp()}\n`);
    return ExitCode.ok;
  }
  const entry = commands.get(name);
  if (entry === undefined) {
    process.stderr.write(`portcullis: unknown command "${name.slice(0, 40)}"\n\n${mainHelp()}\n`);
    return ExitCode.usage;
  }
  const command = await entry.load();
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...rest],
      options: { help: { type: 'boolean', short: 'h' }, ...command.options },
      allowPositionals: command.allowPositionals ?? false,
      strict: true,
    });
  } catch (error) {
    process.stderr.write(`portcullis ${name}: ${error instanceof Error ? error.message : String(error)}\n\n${command.help}\n`);
    return ExitCode.usage;
  }
  if (parsed.values.help === true) {
    process.stdout.write(`${command.help}\n`);
    return ExitCode.ok;
  }
  return command.run(parsed);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Spans still buffered are sent before the process ends (a no-op when tracing is off).
    void stopTracing().catch(() => undefined);
    // Give log transports a moment to flush, then make sure nothing keeps the process alive.
    setTimeout(() => process.exit(code), 2_000).unref();
  },
  (error: unknown) => {
    if (error instanceof CommandExit) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(`portcullis: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = ExitCode.failure;
  },
);
