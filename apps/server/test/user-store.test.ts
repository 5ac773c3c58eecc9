import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { openPostgresUserStore } from '../src/store/postgres-user-store.js';
import { openSqliteUserStore } from '../src/store/sqlite-user-store.js';
import {
  DuplicateEmailError,
  StoreUnavailableError,
  type UserStore,
} from '../src/store/user-store.js';
import {
  adminQuery,
  createTestDatabase,
  describeWithPostgres,
  type TestDatabase,
  testPoolSettings,
} from './support/postgres.js';

/** One empty database of one kind, opened as often as a test needs. */
interface StoreFixture {
  open(): Promise<UserStore>;
  /** Versions recorded in schema_migrations, in order. */
  migrationVersions(): Promise<number[]>;
  cleanup(): Promise<void>;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const isoPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The behaviour every store must share; the refresh step and the CLI rely on nothing else. */
function storeContract(createFixture: () => Promise<StoreFixture>): void {
  let fixture: StoreFixture;
  let store: UserStore;

  beforeEach(async () => {
    fixture = await createFixture();
    store = await fixture.open();
  });

  afterEach(async () => {
    await store.close();
    await fixture.cleanup();
  });

  it('adds a user and finds it by id', async () => {
    const added = await store.addUser({
      email: 'ann@example.com',
      scopes: ['read', 'write', 'read'],
    });

    expect(added.id).toMatch(uuidPattern);
    expect(added.email).toBe('ann@example.com');
    expect(added.locked).toBe(false);
    expect(added.scopes).toEqual(['read', 'write']);
    expect(added.createdAt).toMatch(isoPattern);
    expect(added.updatedAt).toBe(added.createdAt);
    expect(await store.findUser(added.id)).toEqual(added);
  });

  it('adds a user with defaults', async () => {
    const added = await store.addUser({});

    expect(added.email).toBeNull();
    expect(added.locked).toBe(false);
    expect(added.scopes).toEqual([]);
    expect(await store.findUser(added.id)).toEqual(added);
  });

  it('adds a locked user', async () => {
    const added = await store.addUser({ locked: true });

    expect(added.locked).toBe(true);
    expect((await store.findUser(added.id))?.locked).toBe(true);
  });

  it('finds no user for an unknown id', async () => {
    await store.addUser({});

    expect(await store.findUser('3f2c1b7e-0000-4000-8000-000000000000')).toBeUndefined();
    expect(await store.findUser('')).toBeUndefined();
    expect(await store.findUser('x'.repeat(6000))).toBeUndefined();
  });

  it('finds no user for an id with a NUL character', async () => {
    const added = await store.addUser({});

    expect(await store.findUser(`${added.id}\0`)).toBeUndefined();
    expect(await store.setLocked(`${added.id}\0`, true)).toBeUndefined();
    expect(await store.removeUser(`${added.id}\0`)).toBe(false);
  });

  it('rejects a second user with the same email, ignoring ASCII case', async () => {
    await store.addUser({ email: 'Ann@Example.com' });

    await expect(store.addUser({ email: 'ann@example.COM' })).rejects.toBeInstanceOf(
      DuplicateEmailError,
    );
    await expect(store.addUser({ email: 'ann@example.COM' })).rejects.toThrow(
      'a user with email ann@example.COM already exists',
    );
    expect(await store.listUsers()).toHaveLength(1);
  });

  it('treats non-ASCII letters of different case as different emails', async () => {
    await store.addUser({ email: 'élodie@example.com' });
    const second = await store.addUser({ email: 'Élodie@example.com' });

    expect(second.email).toBe('Élodie@example.com');
    expect(await store.listUsers()).toHaveLength(2);
  });

  it('allows many users without email', async () => {
    await store.addUser({});
    await store.addUser({});

    expect(await store.listUsers()).toHaveLength(2);
  });

  it('lists users by creation time, then by id', async () => {
    const added = [];
    for (let index = 0; index < 5; index += 1)
      added.push(await store.addUser({ scopes: [`s${index}`] }));

    const expected = [...added].sort((a, b) => {
      if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
      return a.id < b.id ? -1 : 1;
    });
    expect(await store.listUsers()).toEqual(expected);
  });

  it('lists nothing in an empty store', async () => {
    expect(await store.listUsers()).toEqual([]);
  });

  it('locks and unlocks a user', async () => {
    const added = await store.addUser({ scopes: ['read'] });

    const locked = await store.setLocked(added.id, true);
    expect(locked?.locked).toBe(true);
    expect(locked?.scopes).toEqual(['read']);
    expect(locked?.createdAt).toBe(added.createdAt);
    expect(locked?.updatedAt).toMatch(isoPattern);
    expect(Date.parse(locked?.updatedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(added.updatedAt));
    expect((await store.findUser(added.id))?.locked).toBe(true);

    const unlocked = await store.setLocked(added.id, false);
    expect(unlocked?.locked).toBe(false);
    expect((await store.findUser(added.id))?.locked).toBe(false);
  });

  it('locks no user for an unknown id', async () => {
    expect(await store.setLocked('no-such-user', true)).toBeUndefined();
  });

  it('removes a user once', async () => {
    const added = await store.addUser({});
    const kept = await store.addUser({});

    expect(await store.removeUser(added.id)).toBe(true);
    expect(await store.removeUser(added.id)).toBe(false);
    expect(await store.findUser(added.id)).toBeUndefined();
    expect(await store.listUsers()).toEqual([kept]);
  });

  it('answers a ping', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('keeps users and applies each migration once across reopening', async () => {
    const added = await store.addUser({ email: 'kept@example.com' });
    await store.close();

    store = await fixture.open();
    expect(await store.findUser(added.id)).toEqual(added);
    expect(await fixture.migrationVersions()).toEqual([1]);
  });

  it('migrates once when several stores open an empty database together', async () => {
    await store.close();
    await fixture.cleanup();
    fixture = await createFixture();

    const stores = await Promise.all([fixture.open(), fixture.open(), fixture.open()]);
    store = stores[0] as UserStore;
    await Promise.all(stores.slice(1).map((other) => other.close()));

    expect(await fixture.migrationVersions()).toEqual([1]);
    const added = await store.addUser({});
    expect(await store.findUser(added.id)).toEqual(added);
  });

  it('rejects every call with StoreUnavailableError after close', async () => {
    const added = await store.addUser({});
    await store.close();
    await store.close();

    await expect(store.findUser(added.id)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.addUser({})).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.listUsers()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.setLocked(added.id, true)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.removeUser(added.id)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
  });
}

describe('SQLite user store', () => {
  storeContract(async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'tdb-store-'));
    const file = path.join(folder, 'tdb.sqlite');
    return {
      open: async () => openSqliteUserStore(file),
      migrationVersions: async () => {
        const db = new Database(file, { readonly: true });
        try {
          return db
            .prepare('SELECT version FROM schema_migrations ORDER BY version')
            .pluck()
            .all() as number[];
        } finally {
          db.close();
        }
      },
      cleanup: async () => rmSync(folder, { recursive: true, force: true }),
    };
  });

  it('rejects a file it cannot create with StoreUnavailableError', () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'tdb-store-'));
    try {
      const notAFolder = path.join(folder, 'plain-file');
      writeFileSync(notAFolder, 'x');

      expect(() => openSqliteUserStore(path.join(notAFolder, 'tdb.sqlite'))).toThrow(
        StoreUnavailableError,
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describeWithPostgres('PostgreSQL user store', (serverUrl) => {
  storeContract(async () => {
    const database: TestDatabase = await createTestDatabase(serverUrl);
    return {
      open: () => openPostgresUserStore(database.url, testPoolSettings),
      migrationVersions: async () => {
        const result = await adminQuery(
          database.url,
          'SELECT version FROM schema_migrations ORDER BY version',
        );
        return result.rows.map((row: { version: number }) => row.version);
      },
      cleanup: () => database.drop(),
    };
  });

  it('rejects a server that refuses connections with StoreUnavailableError', async () => {
    const port = await closedPort();
    const url = `postgres://tdb:wrong@127.0.0.1:${port}/tdb`;

    const opening = openPostgresUserStore(url, testPoolSettings);
    await expect(opening).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(opening).rejects.toThrow('ECONNREFUSED');
    await expect(opening).rejects.not.toThrow('wrong');
  });

  it('gives up connecting after the connect timeout', async () => {
    // A listener that accepts connections and never responds, as a host behind a dead link would.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');

    try {
      const started = performance.now();
      const opening = openPostgresUserStore(`postgres://tdb@127.0.0.1:${address.port}/tdb`, {
        ...testPoolSettings,
        connectTimeoutMs: 300,
      });

      await expect(opening).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(performance.now() - started).toBeLessThan(3000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('gives up a query after the query timeout and recovers', async () => {
    await using database = await createTestDatabase(serverUrl);
    const store = await openPostgresUserStore(database.url, {
      ...testPoolSettings,
      queryTimeoutMs: 300,
    });
    const added = await store.addUser({});

    const blocker = new pg.Client({ connectionString: database.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');

      const started = performance.now();
      await expect(store.findUser(added.id)).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(performance.now() - started).toBeLessThan(3000);

      await blocker.query('COMMIT');
      expect(await store.findUser(added.id)).toEqual(added);
    } finally {
      await blocker.end();
      await store.close();
    }
  });

  it('stores scopes as a text array and times as timestamptz', async () => {
    await using database = await createTestDatabase(serverUrl);
    const store = await openPostgresUserStore(database.url, testPoolSettings);
    try {
      const added = await store.addUser({ scopes: ['a', 'b'] });
      const result = await adminQuery(
        database.url,
        `SELECT pg_typeof(scopes)::text AS scopes, pg_typeof(created_at)::text AS created FROM users WHERE id = '${added.id}'`,
      );

      expect(result.rows[0]).toEqual({ scopes: 'text[]', created: 'timestamp with time zone' });
    } finally {
      await store.close();
    }
  });
});

/** Returns a port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}
