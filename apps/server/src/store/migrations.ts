/**
 * Versioned schema changes, applied in order at start. A released entry is never edited:
 * a change to the schema is a new entry with the next version.
 * Each entry has one script per database, with the same effect and the same version number.
 */
export interface Migration {
  version: number;
  name: string;
  sqlite: string;
  postgres: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'create users',
    sqlite: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY NOT NULL,
        email TEXT COLLATE NOCASE UNIQUE,
        locked INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
        scopes TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX users_created_at ON users (created_at, id);
    `,
    // COLLATE "C" makes id order and the email comparison match SQLite: ids sort byte by byte,
    // and lower() folds ASCII letters only, as NOCASE does.
    postgres: `
      CREATE TABLE users (
        id TEXT COLLATE "C" PRIMARY KEY,
        email TEXT,
        locked BOOLEAN NOT NULL DEFAULT FALSE,
        scopes TEXT[] NOT NULL DEFAULT '{}',
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL
      );
      CREATE UNIQUE INDEX users_email_key ON users (lower(email COLLATE "C"));
      CREATE INDEX users_created_at ON users (created_at, id);
    `,
  },
];
