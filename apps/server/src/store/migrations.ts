/**
 * Versioned schema changes, applied in order at start. A released entry is never edited:
 * a change to the schema is a new entry with the next version.
 * The PostgreSQL store keeps the same versions with its own dialect.
 */
export interface Migration {
  version: number;
  name: string;
  sqlite: string;
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
  },
];
