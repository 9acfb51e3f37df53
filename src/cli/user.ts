// src/cli/user.ts
// `portcullis user`: create users (the first admin comes from here), import users with bcrypt
// hashes from another system, list users and change roles. Passwords are read from standard
// input, never from the command line (argv is visible to every user of the machine in ps).

import { readFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { ParseArgsConfig } from 'node:util';
import type { AccountService, PublicUser } from '../accounts/types.js';
import type { Config } from '../config/config.js';
import { isAppError } from '../errors/app-error.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { CommandExit, prepareEnvironment } from './environment.js';
import { ExitCode } from './exit-codes.js';

export const userHelp = `Usage: portcullis user <subcommand> [options]

Subcommands:
  create --email EMAIL [--name NAME] [--admin]
      Creates an account with a verified email address. The password is read from standard
      input: typed twice without echo on a terminal, otherwise the first line of input, e.g.
        printf '%s\\n' "$PASSWORD" | portcullis user create --email ada@example.com --admin
      It must satisfy the password policy (15+ characters by default, not a common password).

  import FILE.json
      Imports users whose passwords are bcrypt hashes from another system: a JSON array of
        { "email": "...", "passwordHash": "$2b$12$...", "displayName": "...",
          "role": "user" | "admin", "emailVerified": true }
      ($2a$, $2b$ and $2y$ hashes; displayName, role and emailVerified are optional). All or
      nothing: one invalid row imports nothing. Addresses that already have an account are
      skipped. Each hash is replaced by the configured scheme at the user's next sign-in.

  list [--search TEXT]
      Lists users (id, email, role, verified, disabled, created), newest first.

  set-role --email EMAIL --role user|admin
      Changes a user's role and ends their sessions, so the change applies from a new session.

Reads the same PORTCULLIS_* settings as serve (database, data directory, master key: the
password pepper is derived from it, so use the server's own settings).

Exit codes: 0 done, 1 refused (the message says why), 2 wrong usage, 78 bad configuration.`;

export const userOptions: ParseArgsConfig['options'] = {
  email: { type: 'string' },
  name: { type: 'string' },
  admin: { type: 'boolean' },
  role: { type: 'string' },
  search: { type: 'string' },
};

interface Parsed {
  readonly values: Record<string, unknown>;
  readonly positionals: string[];
}

/** Which options each subcommand takes; anything else is a usage error, not silently ignored. */
const allowedOptions: Readonly<Record<string, readonly string[]>> = {
  create: ['email', 'name', 'admin'],
  import: [],
  list: ['search'],
  'set-role': ['email', 'role'],
};
const positionalCount: Readonly<Record<string, number>> = { create: 0, import: 1, list: 0, 'set-role': 0 };

function usage(message: string): CommandExit {
  return new CommandExit(ExitCode.usage, `portcullis user: ${message}\n\n${userHelp}`);
}

function stringOption(values: Record<string, unknown>, name: string): string | undefined {
  const value = Object.entries(values).find(([key]) => key === name)?.[1];
  return typeof value === 'string' ? value : undefined;
}

/** The largest import file read: a generous bound for 100,000 users. */
const maximumImportBytes = 64 * 1024 * 1024;

export async function runUser(parsed: Parsed): Promise<number> {
  const [subcommand, ...rest] = parsed.positionals;
  if (subcommand === undefined || subcommand === 'help') {
    process.stdout.write(`${userHelp}\n`);
    return subcommand === undefined ? ExitCode.usage : ExitCode.ok;
  }
  const allowed = Object.entries(allowedOptions).find(([name]) => name === subcommand)?.[1];
  if (allowed === undefined) throw usage(`unknown subcommand "${subcommand.slice(0, 40)}"`);
  const extra = Object.keys(parsed.values).filter((key) => key !== 'help' && !allowed.includes(key));
  if (extra.length > 0) throw usage(`${subcommand} does not take --${extra.join(', --')}`);
  const expected = Object.entries(positionalCount).find(([name]) => name === subcommand)?.[1] ?? 0;
  if (rest.length !== expected) throw usage(expected === 0 ? `${subcommand} takes no arguments` : `${subcommand} takes ${expected} argument`);

  // Read the password before anything else, so a refusal of the configuration does not eat stdin.
  const password = subcommand === 'create' ? await readPassword() : undefined;

  const { config } = await prepareEnvironment();
  // Loaded only now, so `portcullis --help` and usage errors do not load the account domain.
  const [{ createFlowContext }, { setRole }, { setUpAccounts }, { migrateToLatest, openDatabase }] = await Promise.all([
    import('../accounts/account-service.js'),
    import('../accounts/administration.js'),
    import('../accounts/setup.js'),
    import('../storage/database.js'),
  ]);
  // Logs go to standard error (warnings and above): standard output is the command's answer.
  const logger = createLogger({ level: 'warn', pretty: false, destination: process.stderr });
  const db = openDatabase(config.database);
  // With sessions in Redis, a new role ends them there too (the next sign-in gets a new session id).
  const redis = config.redis === undefined || subcommand !== 'set-role' ? undefined : await openRedisSessions(config.redis, config.session, logger);
  const accounts = setUpAccounts({ db, config, logger, ...(redis === undefined ? {} : { revokeSessions: (userId: string) => redis.store.revokeAllForUser(userId) }) });
  try {
    await migrateToLatest(db);
    switch (subcommand) {
      case 'create':
        return await create(accounts.service, parsed.values, password ?? '');
      case 'import':
        return await importFile(accounts.service, rest[0] ?? '');
      case 'list':
        return await list(accounts.service, stringOption(parsed.values, 'search'));
      default: {
        const email = stringOption(parsed.values, 'email');
        const role = stringOption(parsed.values, 'role');
        if (email === undefined || role === undefined) throw usage('set-role needs --email and --role');
        const user = await setRole(createFlowContext(accounts.deps), email, role);
        process.stdout.write(`${user.email} is now ${user.role}.\n`);
        return ExitCode.ok;
      }
    }
  } catch (error) {
    if (isAppError(error)) {
      const fields = Object.entries(error.fields ?? {}).map(([field, message]) => `  ${field}: ${message}`);
      process.stderr.write(`portcullis user ${subcommand}: ${error.publicMessage}\n${fields.length > 0 ? `${fields.join('\n')}\n` : ''}`);
      return ExitCode.failure;
    }
    throw error;
  } finally {
    await accounts.close();
    await redis?.connection.close();
    await db.destroy();
  }
}

/** The Redis session store for set-role; fails the command if Redis cannot be reached. */
async function openRedisSessions(redisConfig: NonNullable<Config['redis']>, session: Config['session'], logger: Logger) {
  const [{ connectRedis }, { RedisSessionStore }] = await Promise.all([import('../storage/redis.js'), import('../storage/sessions/redis-session-store.js')]);
  const connection = connectRedis(redisConfig, logger);
  if (!(await connection.waitUntilReady(5_000))) {
    await connection.close();
    throw new CommandExit(ExitCode.failure, 'portcullis user set-role: Redis (PORTCULLIS_REDIS_URL) cannot be reached, so the user\'s sessions could not be ended; nothing was changed.');
  }
  return { connection, store: new RedisSessionStore(connection, session) };
}

async function create(service: AccountService, values: Record<string, unknown>, password: string): Promise<number> {
  const email = stringOption(values, 'email');
  if (email === undefined) throw usage('create needs --email');
  const user = await service.createUser({ email, password, displayName: stringOption(values, 'name') ?? null, role: values.admin === true ? 'admin' : 'user', emailVerified: true });
  process.stdout.write(`Created ${user.role} ${user.email} (id ${user.id}).\n`);
  return ExitCode.ok;
}

async function importFile(service: AccountService, file: string): Promise<number> {
  let text: string;
  try {
    // The path is the operator's own argument to a command they run.
    if ((await stat(file)).size > maximumImportBytes) throw new CommandExit(ExitCode.failure, `portcullis user import: ${file} is larger than 64 MiB; split it.`);
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof CommandExit) throw error;
    throw new CommandExit(ExitCode.failure, `portcullis user import: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch (error) {
    throw new CommandExit(ExitCode.failure, `portcullis user import: ${file} is not valid JSON (${error instanceof Error ? error.message : 'parse error'})`);
  }
  const { imported, skipped } = await service.importUsers(rows as never);
  process.stdout.write(`Imported ${imported} ${imported === 1 ? 'user' : 'users'}; skipped ${skipped} whose address already had an account.\n`);
  return ExitCode.ok;
}

async function list(service: AccountService, search: string | undefined): Promise<number> {
  const users: PublicUser[] = [];
  for (let page = 1; ; page += 1) {
    const result = await service.listUsers({ ...(search === undefined ? {} : { search }), page, pageSize: 100 });
    users.push(...result.users);
    if (result.users.length === 0 || users.length >= result.total) break;
  }
  const rows = users.map((user) => [user.id, user.email, user.role, user.emailVerified ? 'yes' : 'no', user.disabled ? 'yes' : 'no', new Date(user.createdAt).toISOString()]);
  const header = ['id', 'email', 'role', 'verified', 'disabled', 'created'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row.at(column)?.length ?? 0)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths.at(column) ?? 0)).join('  ').trimEnd();
  process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n${users.length} ${users.length === 1 ? 'user' : 'users'}\n`);
  return ExitCode.ok;
}

/** Reads the password: hidden and confirmed on a terminal, otherwise the first line of stdin. */
async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) {
    const first = await promptHidden('Password: ');
    const second = await promptHidden('Password again: ');
    if (first !== second) throw new CommandExit(ExitCode.failure, 'portcullis user create: the two passwords differ; nothing was created.');
    return first;
  }
  const line = await readFirstLine();
  if (line === undefined || line === '') throw new CommandExit(ExitCode.usage, 'portcullis user create: no password on standard input (give it as the first line).');
  return line;
}

function readFirstLine(): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const reader = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
    let answered = false;
    reader.once('line', (line) => {
      answered = true;
      reader.close();
      // Leave the rest of standard input unread: only the first line is the password.
      process.stdin.pause();
      resolve(line);
    });
    reader.once('close', () => {
      if (!answered) resolve(undefined);
    });
    reader.once('error', reject);
  });
}

/** A prompt that does not echo what is typed (raw mode), with backspace and Ctrl-C. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const character of chunk) {
        if (character === '\r' || character === '\n') {
          finish();
          resolve(value);
          return;
        }
        if (character === '\u0003' || character === '\u0004') {
          finish();
          reject(new CommandExit(ExitCode.failure, 'portcullis user create: cancelled; nothing was created.'));
          return;
        }
        if (character === '\u007f' || character === '\b') value = Array.from(value).slice(0, -1).join('');
        else value += character;
      }
    };
    stdin.on('data', onData);
  });
}
