import { randomUUID } from 'node:crypto';

import pg from 'pg';

import type { PostgresPoolSettings } from '../config.js';
import { migrations } from './migrations.js';
import {
  DuplicateEmailError,
  type NewUser,
  StoreUnavailableError,
  type User,
  type UserStore,
} from './user-store.js';

interface UserRow {
  id: string;
  email: string | null;
  locked: boolean;
  scopes: string[];
  created_at: Date;
  updated_at: Date;
}

/** Receiver of failures that no caller waits for, such as a dropped idle connection. */
export interface StoreLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/**
 * Key of the transaction-level advisory lock that serializes migrations, so replicas that start
 * together apply each step once. Any constant works if no other program on the database uses it.
 */
const MIGRATION_LOCK_KEY = 7_351_002_417;

/**
 * Opens a pool on the PostgreSQL database at `url` and applies pending migrations.
 * Rejects with StoreUnavailableError when the database cannot be reached or migrated.
 */
export async function openPostgresUserStore(
  url: string,
  settings: PostgresPoolSettings,
  log?: StoreLog,
): Promise<UserStore> {
  await applyMigrations(url, settings);

  const pool = new pg.Pool({
    connectionString: url,
    application_name: 'tdb',
    max: settings.maxConnections,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    idleTimeoutMillis: settings.idleTimeoutMs,
    query_timeout: settings.queryTimeoutMs,
    statement_timeout: settings.queryTimeoutMs,
  });
  // An idle connection that the server drops emits 'error' on the pool, and without a listener
  // Node would end the process. The pool discards that connection and opens a new one later.
  pool.on('error', (error) => {
    log?.warn({ err: error, code: errorCode(error) }, 'idle PostgreSQL connection failed');
  });
  return new PostgresUserStore(pool);
}

/**
 * Applies pending migrations in one transaction, under an advisory lock. It uses its own
 * connection without query timeouts, because a migration or the wait for the lock may be slow.
 */
async function applyMigrations(url: string, settings: PostgresPoolSettings): Promise<void> {
  const client = new pg.Client({
    connectionString: url,
    application_name: 'tdb migrations',
    connectionTimeoutMillis: settings.connectTimeoutMs,
  });
  client.on('error', () => {
    // A connection lost mid-migration also fails the pending query, which is reported below.
  });

  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw unavailable(error, 'cannot connect to the PostgreSQL user store');
  }

  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TIMESTAMPTZ NOT NULL
    )`);
    const result = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(result.rows.map((row) => row.version));

    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await client.query(migration.postgres);
      await client.query(
        'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())',
        [migration.version, migration.name],
      );
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw unavailable(error, 'cannot migrate the PostgreSQL user store');
  } finally {
    await client.end().catch(() => undefined);
  }
}

class PostgresUserStore implements UserStore {
  private closing: Promise<void> | undefined;

  constructor(private readonly pool: pg.Pool) {}

  async findUser(id: string): Promise<User | undefined> {
    if (!storable(id)) return undefined;
    const rows = await this.run<UserRow>('find-user', 'SELECT * FROM users WHERE id = $1', [id]);
    return rows[0] === undefined ? undefined : toUser(rows[0]);
  }

  async addUser(user: NewUser): Promise<User> {
    const now = new Date().toISOString();
    const values = [
      randomUUID(),
      user.email ?? null,
      user.locked === true,
      [...new Set(user.scopes ?? [])],
      now,
    ];

    let rows: UserRow[];
    try {
      const result = await this.pool.query<UserRow>({
        name: 'add-user',
        text: `INSERT INTO users (id, email, locked, scopes, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $5) RETURNING *`,
        values,
      });
      rows = result.rows;
    } catch (error) {
      const constraint = (error as { constraint?: unknown }).constraint;
      if (
        errorCode(error) === '23505' &&
        constraint === 'users_email_key' &&
        user.email !== undefined
      ) {
        throw new DuplicateEmailError(user.email);
      }
      throw unavailable(error, 'cannot write to the user store');
    }
    return toUser(rows[0] as UserRow);
  }

  async listUsers(): Promise<User[]> {
    const rows = await this.run<UserRow>(
      'list-users',
      'SELECT * FROM users ORDER BY created_at, id',
      [],
    );
    return rows.map(toUser);
  }

  async setLocked(id: string, locked: boolean): Promise<User | undefined> {
    if (!storable(id)) return undefined;
    const rows = await this.run<UserRow>(
      'set-locked',
      'UPDATE users SET locked = $1, updated_at = $2 WHERE id = $3 RETURNING *',
      [locked, new Date().toISOString(), id],
    );
    return rows[0] === undefined ? undefined : toUser(rows[0]);
  }

  async removeUser(id: string): Promise<boolean> {
    if (!storable(id)) return false;
    const rows = await this.run<{ id: string }>(
      'remove-user',
      'DELETE FROM users WHERE id = $1 RETURNING id',
      [id],
    );
    return rows.length > 0;
  }

  async ping(): Promise<void> {
    await this.run('ping', 'SELECT 1', []);
  }

  async close(): Promise<void> {
    this.closing ??= this.pool.end();
    await this.closing;
  }

  /** Runs a named query, prepared once per connection. Any failure means the store is unavailable. */
  private async run<Row extends pg.QueryResultRow>(
    name: string,
    text: string,
    values: unknown[],
  ): Promise<Row[]> {
    try {
      const result = await this.pool.query<Row>({ name, text, values });
      return result.rows;
    } catch (error) {
      throw unavailable(error, 'cannot read the user store');
    }
  }
}

/**
 * PostgreSQL text cannot contain NUL, and a query with one fails. No stored id has one,
 * so such an id finds nothing, as it does in SQLite.
 */
function storable(id: string): boolean {
  return !id.includes('\0');
}

function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    locked: row.locked,
    scopes: row.scopes,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Wraps a driver error; the message names the error code or text, never the connection URL. */
function unavailable(error: unknown, message: string): StoreUnavailableError {
  const detail = errorCode(error) ?? (error instanceof Error ? error.message : String(error));
  return new StoreUnavailableError(`${message} (${detail})`, { cause: error });
}
