import { readFileSync } from 'node:fs';
import path from 'node:path';

import { DEFAULT_LEEWAY_SECONDS, DEFAULT_TOKEN_LIFETIME_SECONDS } from '@tdb/contracts';

/** A configuration value that cannot be used; the message names the variable and the accepted form. */
export class ConfigError extends Error {
  override name = 'ConfigError';

  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
  }
}

export type DatabaseLocation =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string; pool: PostgresPoolSettings };

/** Connection pool settings of the PostgreSQL user store. Each process has its own pool. */
export interface PostgresPoolSettings {
  /** Maximum number of open connections. */
  maxConnections: number;
  /** Limit on opening a connection, or on waiting for a free one when all are busy. */
  connectTimeoutMs: number;
  /** Limit on one query, enforced by the client and by the server (`statement_timeout`). */
  queryTimeoutMs: number;
  /** Time after which an unused connection is closed, or 0 to keep it open. */
  idleTimeoutMs: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  database: DatabaseLocation;
  /** How long /readyz waits for the user store to respond, in milliseconds. */
  readinessTimeoutMs: number;
  /** How long a stopping server waits for in-flight requests, in milliseconds. */
  shutdownTimeoutMs: number;
  /** Secret, PEM or JWK text; undefined means "generate one into dataDir". */
  signingKey: string | undefined;
  /** Name of the variable the signing key came from, for error messages. */
  signingKeySource: 'JWT_SIGNING_KEY' | 'JWT_SIGNING_KEY_FILE' | undefined;
  verifyKeysFile: string | undefined;
  issuer: string;
  audience: string;
  tokenLifetimeSeconds: number;
  leewaySeconds: number;
  refreshGraceSeconds: number;
  /** Failed refreshes one client address may make per window before it gets 429; 0 turns the limit off. */
  failedRefreshLimit: number;
  failedRefreshWindowSeconds: number;
  /** Browser origins allowed by CORS, each exactly `scheme://host[:port]`; empty allows none. */
  corsOrigins: string[];
  logLevel: LogLevel;
  production: boolean;
}

type Environment = Record<string, string | undefined>;

const logLevels: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

/**
 * Reads and validates the whole configuration from the environment.
 * Throws a ConfigError naming the first invalid variable.
 */
export function loadConfig(env: Environment = process.env): Config {
  const dataDir = path.resolve(text(env, 'DATA_DIR') ?? './data');
  const signing = readSigningKey(env);

  return {
    host: text(env, 'HOST') ?? '127.0.0.1',
    port: integer(env, 'PORT', 8080, 0, 65535),
    dataDir,
    database: databaseLocation(env, dataDir),
    readinessTimeoutMs: integer(env, 'READINESS_TIMEOUT_MS', 1000, 1, 60_000),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 3_600_000),
    ...signing,
    verifyKeysFile: text(env, 'JWT_VERIFY_KEYS_FILE'),
    issuer: text(env, 'JWT_ISSUER') ?? 'tdb',
    audience: text(env, 'JWT_AUDIENCE') ?? 'tdb-api',
    tokenLifetimeSeconds: integer(
      env,
      'TOKEN_LIFETIME',
      DEFAULT_TOKEN_LIFETIME_SECONDS,
      1,
      31_536_000,
    ),
    leewaySeconds: integer(env, 'JWT_LEEWAY', DEFAULT_LEEWAY_SECONDS, 0, 3600),
    refreshGraceSeconds: integer(env, 'TOKEN_REFRESH_GRACE', 0, 0, 31_536_000),
    failedRefreshLimit: integer(env, 'FAILED_REFRESH_LIMIT', 300, 0, 1_000_000),
    failedRefreshWindowSeconds: integer(env, 'FAILED_REFRESH_WINDOW', 300, 1, 86_400),
    corsOrigins: origins(env, 'CORS_ORIGINS'),
    logLevel: oneOf(env, 'LOG_LEVEL', logLevels, 'info'),
    production: env['NODE_ENV'] === 'production',
  };
}

function text(env: Environment, name: string): string | undefined {
  const value = env[name];
  if (value === undefined || value.trim() === '') return undefined;
  return value.trim();
}

function integer(
  env: Environment,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = text(env, name);
  if (value === undefined) return fallback;

  const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new ConfigError(
      name,
      `Invalid ${name}: ${JSON.stringify(value)}. Expected an integer from ${min} to ${max}.`,
    );
  }
  return parsed;
}

function oneOf<T extends string>(
  env: Environment,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const value = text(env, name);
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(
      name,
      `Invalid ${name}: ${JSON.stringify(value)}. Expected one of ${allowed.join(', ')}.`,
    );
  }
  return value as T;
}

function origins(env: Environment, name: string): string[] {
  const value = text(env, name);
  if (value === undefined) return [];

  const result: string[] = [];
  for (const entry of value.split(',').map((part) => part.trim())) {
    let origin: string | undefined;
    try {
      const url = new URL(entry);
      if (url.protocol === 'http:' || url.protocol === 'https:') origin = url.origin;
    } catch {
      origin = undefined;
    }
    if (origin !== entry) {
      // Browsers send the origin lowercase, without a path and without a default port.
      const hint = origin === undefined ? '' : ` Write it as the browser sends it: ${origin}.`;
      throw new ConfigError(
        name,
        `Invalid ${name}: ${JSON.stringify(entry)} is not an origin.${hint} Expected a comma-separated list of scheme://host[:port] such as https://app.example.com,http://localhost:5173.`,
      );
    }
    if (!result.includes(origin)) result.push(origin);
  }
  return result;
}

function databaseLocation(env: Environment, dataDir: string): DatabaseLocation {
  // The pool settings are checked even for SQLite, so a typo shows before a move to PostgreSQL.
  const pool: PostgresPoolSettings = {
    maxConnections: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 1000),
    connectTimeoutMs: integer(env, 'DATABASE_CONNECT_TIMEOUT_MS', 2000, 1, 600_000),
    queryTimeoutMs: integer(env, 'DATABASE_QUERY_TIMEOUT_MS', 2000, 1, 600_000),
    idleTimeoutMs: integer(env, 'DATABASE_IDLE_TIMEOUT_MS', 30_000, 0, 86_400_000),
  };

  const value = text(env, 'DATABASE_URL');
  if (value === undefined) return { kind: 'sqlite', path: path.join(dataDir, 'tdb.sqlite') };

  if (value.startsWith('sqlite:')) {
    const file = value.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (file !== '') return { kind: 'sqlite', path: path.resolve(file) };
  }
  if (/^postgres(ql)?:\/\//.test(value)) {
    try {
      new URL(value);
      return { kind: 'postgres', url: value, pool };
    } catch {
      // Falls through to the error below, which never echoes a URL that may hold a password.
    }
  }
  throw new ConfigError(
    'DATABASE_URL',
    'Invalid DATABASE_URL. Expected sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE.',
  );
}

function readSigningKey(env: Environment): Pick<Config, 'signingKey' | 'signingKeySource'> {
  const inline = text(env, 'JWT_SIGNING_KEY');
  const file = text(env, 'JWT_SIGNING_KEY_FILE');

  if (inline !== undefined && file !== undefined) {
    throw new ConfigError(
      'JWT_SIGNING_KEY',
      'Invalid JWT_SIGNING_KEY: set either JWT_SIGNING_KEY or JWT_SIGNING_KEY_FILE, not both.',
    );
  }
  if (inline !== undefined) {
    return { signingKey: inline, signingKeySource: 'JWT_SIGNING_KEY' };
  }
  if (file !== undefined) {
    let content: string;
    try {
      content = readFileSync(file, 'utf8').trim();
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ConfigError(
        'JWT_SIGNING_KEY_FILE',
        `Invalid JWT_SIGNING_KEY_FILE: cannot read ${file} (${reason}). Expected a readable file holding a secret, PEM or JWK.`,
      );
    }
    return { signingKey: content, signingKeySource: 'JWT_SIGNING_KEY_FILE' };
  }
  return { signingKey: undefined, signingKeySource: undefined };
}
