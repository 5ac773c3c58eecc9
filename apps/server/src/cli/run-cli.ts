import { parseArgs } from 'node:util';

import { USER_LOCKED_MESSAGE } from '@tdb/contracts';

import { ConfigError, loadConfig } from '../config.js';
import { generateSigningKey } from '../keys/generate-key.js';
import { loadKeyRing } from '../keys/key-ring.js';
import { KeyError, type SigningAlgorithm, supportedAlgorithms } from '../keys/signing-key.js';
import { createOpenApiDocument } from '../openapi.js';
import { ListenError, startServer } from '../server.js';
import { closeGracefully } from '../shutdown.js';
import { openUserStore } from '../store/open-user-store.js';
import {
  DuplicateEmailError,
  StoreUnavailableError,
  type User,
  type UserStore,
} from '../store/user-store.js';
import { createTokenSigner } from '../tokens/sign-token.js';
import { UsageError, usage } from './usage.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
}

/** A command that failed for a reason the operator can act on; exits with status 1. */
class CommandError extends Error {
  override name = 'CommandError';
}

/** Runs one command line and returns the exit status: 0 success, 1 failure, 2 usage error. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    await dispatch(argv, io);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`tdb: ${error.message} (run "tdb help" for usage)`);
      return 2;
    }
    if (
      error instanceof CommandError ||
      error instanceof ConfigError ||
      error instanceof KeyError ||
      error instanceof StoreUnavailableError ||
      error instanceof DuplicateEmailError ||
      error instanceof ListenError
    ) {
      io.stderr(`tdb: ${error.message}`);
      return 1;
    }
    io.stderr(`tdb: unexpected error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

async function dispatch(argv: readonly string[], io: CliIo): Promise<void> {
  const [command, ...rest] = argv;

  // `--help` anywhere, as in `tdb user --help`, prints the usage instead of running anything.
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(usage);
    return;
  }

  switch (command) {
    case undefined:
      throw new UsageError('missing command');
    case 'help':
    case '--help':
    case '-h':
      io.stdout(usage);
      return;
    case 'serve':
      parse(rest, {}, 0);
      await serve(io);
      return;
    case 'user':
      await userCommand(rest, io);
      return;
    case 'token':
      await tokenCommand(rest, io);
      return;
    case 'key':
      keyCommand(rest, io);
      return;
    case 'openapi':
      parse(rest, {}, 0);
      io.stdout(JSON.stringify(createOpenApiDocument(), null, 2));
      return;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function serve(io: CliIo): Promise<void> {
  const config = loadConfig(io.env);
  const app = await startServer(config);

  // `once`: a second SIGINT or SIGTERM during the shutdown ends the process at once.
  const stop = (signal: NodeJS.Signals) => {
    void closeGracefully(app, signal, config.shutdownTimeoutMs).then((status) =>
      process.exit(status),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

async function userCommand(argv: readonly string[], io: CliIo): Promise<void> {
  const [action, ...rest] = argv;

  switch (action) {
    case 'add': {
      const { values } = parse(
        rest,
        {
          email: { type: 'string' },
          scope: { type: 'string', multiple: true },
          locked: { type: 'boolean' },
          json: { type: 'boolean' },
        },
        0,
      );
      const email = values['email'] as string | undefined;
      if (email !== undefined && !/^[^\s@]+@[^\s@]+$/.test(email)) {
        throw new UsageError(
          `invalid --email "${email}": expected an address like name@example.com`,
        );
      }
      const scopes = scopeList(values['scope']);
      const user = await withStore(io, (store) =>
        store.addUser({ email, scopes, locked: values['locked'] === true }),
      );
      io.stdout(values['json'] ? JSON.stringify(user) : user.id);
      return;
    }
    case 'list': {
      const { values } = parse(rest, { json: { type: 'boolean' } }, 0);
      const users = await withStore(io, (store) => store.listUsers());
      io.stdout(values['json'] ? JSON.stringify(users) : userTable(users));
      return;
    }
    case 'lock':
    case 'unlock': {
      const { positionals } = parse(rest, { json: { type: 'boolean' } }, 1);
      const id = positionals[0] as string;
      const user = await withStore(io, (store) => store.setLocked(id, action === 'lock'));
      if (user === undefined) throw new CommandError(`user ${id} not found`);
      io.stdout(`user ${id} ${action === 'lock' ? 'locked' : 'unlocked'}`);
      return;
    }
    case 'remove': {
      const { positionals } = parse(rest, {}, 1);
      const id = positionals[0] as string;
      const removed = await withStore(io, (store) => store.removeUser(id));
      if (!removed) throw new CommandError(`user ${id} not found`);
      io.stdout(`user ${id} removed`);
      return;
    }
    case undefined:
      throw new UsageError('missing user command: add, list, lock, unlock or remove');
    default:
      throw new UsageError(`unknown user command "${action}"`);
  }
}

async function tokenCommand(argv: readonly string[], io: CliIo): Promise<void> {
  const [action, ...rest] = argv;
  if (action !== 'issue') {
    throw new UsageError(
      action === undefined ? 'missing token command: issue' : `unknown token command "${action}"`,
    );
  }

  const { values, positionals } = parse(
    rest,
    {
      scope: { type: 'string', multiple: true },
      json: { type: 'boolean' },
    },
    1,
  );
  const id = positionals[0] as string;
  const requested = values['scope'] === undefined ? undefined : scopeList(values['scope']);

  const config = loadConfig(io.env);
  const keys = await loadKeyRing(config, {
    warn: (_fields, message) => io.stderr(`tdb: warning: ${message}`),
  });
  const user = await withStore(io, (store) => store.findUser(id));
  if (user === undefined) throw new CommandError(`user ${id} not found`);
  if (user.locked) throw new CommandError(`cannot issue a token: ${USER_LOCKED_MESSAGE}`);

  const missing = (requested ?? []).filter((scope) => !user.scopes.includes(scope));
  if (missing.length > 0) {
    throw new CommandError(`user ${id} is not granted the scope ${missing.join(', ')}`);
  }

  const issued = await createTokenSigner(keys.signing)({
    sub: user.id,
    scope: requested ?? user.scopes,
    issuer: config.issuer,
    audience: config.audience,
    iat: Math.floor(Date.now() / 1000),
    lifetimeSeconds: config.tokenLifetimeSeconds,
  });
  io.stdout(values['json'] ? JSON.stringify(issued) : issued.token);
}

function keyCommand(argv: readonly string[], io: CliIo): void {
  const [action, ...rest] = argv;
  if (action !== 'generate') {
    throw new UsageError(
      action === undefined ? 'missing key command: generate' : `unknown key command "${action}"`,
    );
  }

  const { values } = parse(rest, { alg: { type: 'string' } }, 0);
  const alg = (values['alg'] as string | undefined) ?? 'HS256';
  if (!(supportedAlgorithms as readonly string[]).includes(alg)) {
    throw new UsageError(
      `invalid --alg "${alg}": expected one of ${supportedAlgorithms.join(', ')}`,
    );
  }
  io.stdout(generateSigningKey(alg as SigningAlgorithm));
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

/** Parses options strictly and checks the count of positional arguments. */
function parse(argv: readonly string[], options: OptionSpec, positionalCount: number) {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(argumentProblem(error as Error & { code?: string }));
  }
  if (parsed.positionals.length !== positionalCount) {
    throw new UsageError(
      positionalCount === 0
        ? `unexpected argument "${parsed.positionals[0]}"`
        : `expected ${positionalCount} argument (a user id), got ${parsed.positionals.length}`,
    );
  }
  return parsed;
}

/** Rewords node:util parseArgs errors, which suggest `--` tricks, as one short line. */
function argumentProblem(error: Error & { code?: string }): string {
  const option = /'(-[^' ]+)/.exec(error.message)?.[1] ?? '';
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option "${option}"`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return `option "${option}" needs a value`;
    default:
      return error.message.split('\n')[0] ?? 'invalid arguments';
  }
}

function scopeList(value: unknown): string[] {
  const scopes = (value as string[] | undefined) ?? [];
  for (const scope of scopes) {
    if (!/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope)) {
      throw new UsageError(
        `invalid --scope "${scope}": expected printable ASCII without spaces, quotes or backslashes`,
      );
    }
  }
  return [...new Set(scopes)];
}

async function withStore<T>(io: CliIo, action: (store: UserStore) => Promise<T>): Promise<T> {
  const store = await openUserStore(loadConfig(io.env).database);
  try {
    return await action(store);
  } finally {
    await store.close();
  }
}

function userTable(users: readonly User[]): string {
  if (users.length === 0) return 'no users';
  const rows = users.map((user) => [
    user.id,
    user.email ?? '-',
    user.locked ? 'locked' : 'active',
    user.scopes.join(',') || '-',
    user.createdAt,
  ]);
  const header = ['ID', 'EMAIL', 'STATE', 'SCOPES', 'CREATED'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
