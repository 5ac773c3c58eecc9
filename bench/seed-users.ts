import { randomUUID } from 'node:crypto';

import Database from 'better-sqlite3';

/**
 * Inserts `count` active users straight into an SQLite store whose schema `tdb` has already
 * created, in one transaction with one prepared statement, and returns `sampleSize` of the
 * new ids spread evenly over the insertion order. Run it before the server starts.
 */
export function seedUsers(file: string, count: number, sampleSize: number): string[] {
  const database = new Database(file);
  try {
    database.pragma('journal_mode = WAL');
    const insert = database.prepare(
      `INSERT INTO users (id, email, locked, scopes, created_at, updated_at)
       VALUES (?, NULL, 0, '["read","write"]', ?, ?)`,
    );
    const step = Math.max(1, Math.floor(count / sampleSize));
    const sample: string[] = [];

    const insertAll = database.transaction(() => {
      const createdAt = new Date().toISOString();
      for (let index = 0; index < count; index += 1) {
        const id = randomUUID();
        insert.run(id, createdAt, createdAt);
        if (index % step === 0 && sample.length < sampleSize) sample.push(id);
      }
    });
    insertAll();
    database.pragma('wal_checkpoint(TRUNCATE)');
    return sample;
  } finally {
    database.close();
  }
}
