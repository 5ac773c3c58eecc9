import { randomBytes } from 'node:crypto';

import pg from 'pg';
import { describe } from 'vitest';

import type { PostgresPoolSettings } from '../../src/config.js';

/**
 * URL of the test PostgreSQL server, from `scripts/test-postgres.sh start`. Its user must be
 * allowed to create databases: every test database is created from it and dropped afterwards.
 */
export const postgresUrl: string | undefined = process.env['TDB_TEST_POSTGRES_URL'] || undefined;

if (postgresUrl === undefined && process.env['CI'] === 'true') {
  // In CI a missing server is a broken setup, not a reason to skip.
  throw new Error(
    'TDB_TEST_POSTGRES_URL is not set, but CI=true: .ci/run must start PostgreSQL with scripts/test-postgres.sh start',
  );
}

/** Settings with short timeouts, so a failing test fails quickly. */
export const testPoolSettings: PostgresPoolSettings = {
  maxConnections: 5,
  connectTimeoutMs: 2000,
  queryTimeoutMs: 5000,
  idleTimeoutMs: 10_000,
};

/**
 * Declares a suite that needs PostgreSQL. Without TDB_TEST_POSTGRES_URL (outside CI) the suite
 * is skipped, and its name says how to run it.
 */
export function describeWithPostgres(name: string, body: (url: string) => void): void {
  if (postgresUrl === undefined) {
    process.stderr.write(
      `Skipping "${name}": TDB_TEST_POSTGRES_URL is not set. Start a server with: export TDB_TEST_POSTGRES_URL="$(scripts/test-postgres.sh start)"\n`,
    );
    describe.skip(`${name} (skipped: set TDB_TEST_POSTGRES_URL, see scripts/test-postgres.sh)`, () => {
      body('');
    });
    return;
  }
  const url = postgresUrl;
  describe(name, () => body(url));
}

export interface TestDatabase extends AsyncDisposable {
  /** URL of the new, empty database. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Creates an empty database with a random name on the server that `serverUrl` points at. */
export async function createTestDatabase(serverUrl: string): Promise<TestDatabase> {
  const name = `tdb_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name}`);

  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const drop = async () => {
    await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  };
  return { url: url.toString(), name, drop, [Symbol.asyncDispose]: drop };
}

/** Runs one statement on its own short-lived connection, as the server's administrator. */
export async function adminQuery(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}
