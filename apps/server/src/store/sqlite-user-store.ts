import { randomUUID } from 'node:crypto';
import path from 'node:path';

import Database from 'better-sqlite3';

import { makeDirectory } from '../make-directory.js';

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
  locked: number;
  scopes: string;
  created_at: string;
  updated_at: string;
}

export interface SqliteStoreOptions {
  /** How long a query waits for a lock held by another process (a CLI command, a backup). */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating if needed) the SQLite user store at `file` and applies pending migrations.
 * WAL mode lets the CLI change users while a server reads the same file.
 */
export function openSqliteUserStore(file: string, options: SqliteStoreOptions = {}): UserStore {
  let db: Database.Database;
  try {
    makeDirectory(path.dirname(file));
    db = new Database(file);
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 2000}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    applyMigrations(db);
  } catch (error) {
    throw unavailable(error, `cannot open the SQLite user store at ${file}`);
  }
  return new SqliteUserStore(db);
}

function applyMigrations(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);

  // IMMEDIATE takes the write lock first, so two processes starting together apply each step once.
  const migrate = db.transaction(() => {
    const applied = new Set(
      db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[],
    );
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      db.exec(migration.sqlite);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        new Date().toISOString(),
      );
    }
  });
  migrate.immediate();
}

class SqliteUserStore implements UserStore {
  private readonly findStatement;
  private readonly insertStatement;
  private readonly listStatement;
  private readonly lockStatement;
  private readonly removeStatement;
  private readonly pingStatement;

  constructor(private readonly db: Database.Database) {
    this.findStatement = db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?');
    this.insertStatement = db.prepare<[UserRow]>(
      `INSERT INTO users (id, email, locked, scopes, created_at, updated_at)
       VALUES (@id, @email, @locked, @scopes, @created_at, @updated_at)`,
    );
    this.listStatement = db.prepare<[], UserRow>('SELECT * FROM users ORDER BY created_at, id');
    this.lockStatement = db.prepare<[number, string, string], UserRow>(
      'UPDATE users SET locked = ?, updated_at = ? WHERE id = ? RETURNING *',
    );
    this.removeStatement = db.prepare<[string]>('DELETE FROM users WHERE id = ?');
    // Reads a real page, so a damaged or replaced file fails here rather than passing on `SELECT 1`.
    this.pingStatement = db.prepare('SELECT version FROM schema_migrations LIMIT 1');
  }

  async findUser(id: string): Promise<User | undefined> {
    const row = this.run(() => this.findStatement.get(id));
    return row === undefined ? undefined : toUser(row);
  }

  async addUser(user: NewUser): Promise<User> {
    const now = new Date().toISOString();
    const row: UserRow = {
      id: randomUUID(),
      email: user.email ?? null,
      locked: user.locked ? 1 : 0,
      scopes: JSON.stringify([...new Set(user.scopes ?? [])]),
      created_at: now,
      updated_at: now,
    };

    try {
      this.insertStatement.run(row);
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && row.email !== null) {
        throw new DuplicateEmailError(row.email);
      }
      throw unavailable(error, 'cannot write to the user store');
    }
    return toUser(row);
  }

  async listUsers(): Promise<User[]> {
    return this.run(() => this.listStatement.all()).map(toUser);
  }

  async setLocked(id: string, locked: boolean): Promise<User | undefined> {
    const row = this.run(() =>
      this.lockStatement.get(locked ? 1 : 0, new Date().toISOString(), id),
    );
    return row === undefined ? undefined : toUser(row);
  }

  async removeUser(id: string): Promise<boolean> {
    return this.run(() => this.removeStatement.run(id)).changes > 0;
  }

  async ping(): Promise<void> {
    this.run(() => this.pingStatement.get());
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private run<T>(query: () => T): T {
    try {
      return query();
    } catch (error) {
      throw unavailable(error, 'cannot read the user store');
    }
  }
}

function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    locked: row.locked === 1,
    scopes: JSON.parse(row.scopes) as string[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function unavailable(error: unknown, message: string): StoreUnavailableError {
  const code = (error as { code?: string }).code;
  const detail = code ?? (error instanceof Error ? error.message : String(error));
  return new StoreUnavailableError(`${message} (${detail})`, { cause: error });
}
