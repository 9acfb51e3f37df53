// src/cli/audit.ts
// `portcullis audit`: verify the audit trail's hash chain (naming the first row that was changed,
// inserted or removed), export it as JSON Lines, and apply the retention setting now.

import { createWriteStream, type WriteStream } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import { auditChainKey, exportAuditEvents, pruneAuditTrail, sealLegacyAuditRows, verifyAuditChain } from '../observability/audit-chain.js';
import { migrateToLatest, openDatabase } from '../storage/database.js';
import { CommandExit, prepareEnvironment } from './environment.js';
import { ExitCode } from './exit-codes.js';

export const auditHelp = `Usage: portcullis audit <subcommand> [options]

Subcommands:
  verify [--json]
      Walks the audit trail's hash chain from its anchor to its head and checks every row.
      Prints "audit trail intact" with the number of rows and the head's hash, or each place the
      chain breaks, first one first: a row changed (its content no longer matches its hash), a
      row inserted (no place in the chain, beyond its head, or the rest renumbered around it) or
      rows removed (a gap in the sequence, or the end cut off). Keep the printed head hash
      somewhere else: a later verify that starts from the same anchor proves nothing before it changed.

  export --since DATE [--output FILE]
      Writes the events at or after DATE (ISO 8601, for example 2026-01-31 or
      2026-01-31T12:00:00Z; a time needs its zone) as JSON Lines, one event per line in chain order, to standard output
      or FILE (created with mode 600; it holds addresses and user agents).

  prune
      Deletes events older than PORTCULLIS_AUDIT_RETENTION_DAYS now (the server also does it
      every ten minutes) by moving the chain's anchor, so the chain still verifies.

Reads the same PORTCULLIS_* settings as serve: the database, and the master key the chain's
key is derived from.

Exit codes: 0 intact (or done), 1 the chain is broken, 2 wrong usage, 78 bad configuration.`;

export const auditOptions: ParseArgsConfig['options'] = {
  since: { type: 'string' },
  output: { type: 'string', short: 'o' },
  json: { type: 'boolean' },
};

interface Parsed {
  readonly values: Record<string, unknown>;
  readonly positionals: string[];
}

const allowedOptions: Readonly<Record<string, readonly string[]>> = { verify: ['json'], export: ['since', 'output'], prune: [] };

function usage(message: string): CommandExit {
  return new CommandExit(ExitCode.usage, `portcullis audit: ${message}\n\n${auditHelp}`);
}

function option(values: Record<string, unknown>, name: string): unknown {
  return Object.entries(values).find(([key]) => key === name)?.[1];
}

/** An ISO 8601 date or date-time; a bare date means its first millisecond, UTC. */
export function parseSince(value: string): number | undefined {
  let at = Number.NaN;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) at = Date.parse(`${value}T00:00:00Z`);
  // A date and time with an explicit zone (Z or ±HH:MM): a local time would depend on the machine.
  else if (/^\d{4}-\d{2}-\d{2}T[0-9:.]{5,12}(Z|[+-][0-9:]{4,5})$/.test(value)) at = Date.parse(value);
  return Number.isFinite(at) ? at : undefined;
}

function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.write(text)) resolve();
    else {
      stream.once('drain', resolve);
      stream.once('error', reject);
    }
  });
}

export async function runAudit(parsed: Parsed): Promise<number> {
  const [subcommand, ...rest] = parsed.positionals;
  if (subcommand === undefined || subcommand === 'help') {
    process.stdout.write(`${auditHelp}\n`);
    return subcommand === undefined ? ExitCode.usage : ExitCode.ok;
  }
  const allowed = Object.entries(allowedOptions).find(([name]) => name === subcommand)?.[1];
  if (allowed === undefined) throw usage(`unknown subcommand "${subcommand.slice(0, 40)}"`);
  const extra = Object.keys(parsed.values).filter((key) => key !== 'help' && !allowed.includes(key));
  if (extra.length > 0) throw usage(`${subcommand} does not take --${extra.join(', --')}`);
  if (rest.length > 0) throw usage(`${subcommand} takes no arguments`);

  let since: number | undefined;
  if (subcommand === 'export') {
    const text = option(parsed.values, 'since');
    if (typeof text !== 'string') throw usage('export needs --since DATE');
    since = parseSince(text);
    if (since === undefined) throw usage(`--since must be an ISO 8601 date such as 2026-01-31 or 2026-01-31T12:00:00Z, not "${text.slice(0, 40)}"`);
  }

  const { config } = await prepareEnvironment();
  const key = auditChainKey(config.masterKey);
  const db = openDatabase(config.database);
  try {
    await migrateToLatest(db);
    switch (subcommand) {
      case 'verify': {
        const report = await verifyAuditChain(db, key);
        if (option(parsed.values, 'json') === true) {
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        } else if (report.ok) {
          process.stdout.write(
            `audit trail intact: ${report.checked} rows checked from seq ${report.anchorSeq + 1} to ${report.headSeq}; head hash ${report.headHash}\n` +
              (report.unsealed > 0 ? `${report.unsealed} older rows are not sealed yet (the server seals them at start)\n` : ''),
          );
        } else {
          const [first, ...others] = report.problems;
          process.stdout.write(`audit trail BROKEN: ${report.problems.length}${report.problems.length >= 100 ? '+' : ''} problem(s); ${report.checked} rows checked\n`);
          if (first !== undefined) process.stdout.write(`first: [${first.kind}] ${first.message}\n`);
          for (const problem of others) process.stdout.write(`  [${problem.kind}] ${problem.message}\n`);
        }
        return report.ok ? ExitCode.ok : ExitCode.failure;
      }
      case 'export': {
        const outputPath = option(parsed.values, 'output');
        let output: WriteStream | undefined;
        if (typeof outputPath === 'string') {
          output = createWriteStream(outputPath, { flags: 'wx', mode: 0o600 });
          await new Promise<void>((resolve, reject) => {
            output?.once('open', () => {
              resolve();
            });
            output?.once('error', reject);
          }).catch((error: unknown) => {
            throw new CommandExit(ExitCode.failure, `portcullis audit: cannot create ${outputPath}: ${error instanceof Error ? error.message : String(error)}`);
          });
        }
        const target = output ?? process.stdout;
        let count = 0;
        for await (const event of exportAuditEvents(db, since ?? 0)) {
          await write(target, `${JSON.stringify(event)}\n`);
          count += 1;
        }
        if (output !== undefined) {
          const stream = output;
          await new Promise<void>((resolve) => stream.end(resolve));
          process.stderr.write(`${count} events written to ${String(outputPath)}\n`);
        }
        return ExitCode.ok;
      }
      default: {
        const days = config.monitoring.auditRetentionDays;
        if (days === null) {
          process.stdout.write('PORTCULLIS_AUDIT_RETENTION_DAYS is off: nothing is pruned\n');
          return ExitCode.ok;
        }
        await sealLegacyAuditRows(db, key);
        const outcome = await pruneAuditTrail(db, key, Date.now() - days * 86_400_000);
        process.stdout.write(`${outcome.removed} events older than ${days} days removed; the chain is anchored at seq ${outcome.anchorSeq}\n`);
        return ExitCode.ok;
      }
    }
  } finally {
    await db.destroy();
  }
}
