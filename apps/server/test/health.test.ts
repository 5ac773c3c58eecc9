import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';

import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { loadKeyRing } from '../src/keys/key-ring.js';
import { createLogger } from '../src/logging.js';
import { openSqliteUserStore } from '../src/store/sqlite-user-store.js';
import type { UserStore } from '../src/store/user-store.js';
import { TEST_SECRET } from './support/test-server.js';

interface HealthServer {
  url: string;
  app: FastifyInstance;
  logs: Record<string, unknown>[];
  pings: () => number;
}

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/**
 * Starts a real server whose SQLite store resolves pings only after `pingDelayMs`: a slow
 * database, made in the test build only. Every other store call is the real one.
 */
async function startServerWithSlowPing(
  pingDelayMs: number,
  env: Record<string, string> = {},
): Promise<HealthServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tdb-health-'));
  const config = loadConfig({ DATA_DIR: dataDir, JWT_SIGNING_KEY: TEST_SECRET, ...env });
  const sqlite = openSqliteUserStore(path.join(dataDir, 'tdb.sqlite'));

  let pings = 0;
  const store: UserStore = {
    findUser: (id) => sqlite.findUser(id),
    addUser: (user) => sqlite.addUser(user),
    listUsers: () => sqlite.listUsers(),
    setLocked: (id, locked) => sqlite.setLocked(id, locked),
    removeUser: (id) => sqlite.removeUser(id),
    ping: async () => {
      pings += 1;
      await new Promise((resolve) => setTimeout(resolve, pingDelayMs));
      await sqlite.ping();
    },
    close: () => sqlite.close(),
  };

  const logs: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) {
        if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });

  const app = await buildApp({
    config,
    store,
    keys: await loadKeyRing(config),
    logger: createLogger(config, stream),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(async () => {
    await app.close();
    await sqlite.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return { url: `http://127.0.0.1:${address.port}`, app, logs, pings: () => pings };
}

async function timedGet(url: string) {
  const started = performance.now();
  const response = await fetch(url);
  const body = (await response.json()) as Record<string, unknown>;
  return { status: response.status, body, elapsedMs: performance.now() - started };
}

describe('GET /readyz', () => {
  it('answers 200 when the store answers in time', async () => {
    const server = await startServerWithSlowPing(0);

    const result = await timedGet(`${server.url}/readyz`);

    expect(result.status).toBe(200);
    expect(result.body).toEqual({ status: 'ready' });
  });

  it('answers 503 when the store is slower than READINESS_TIMEOUT_MS', async () => {
    const server = await startServerWithSlowPing(3000, { READINESS_TIMEOUT_MS: '200' });

    const result = await timedGet(`${server.url}/readyz`);

    expect(result.status).toBe(503);
    expect(result.body).toEqual({
      status: 'Service Unavailable',
      message: 'user store unavailable',
      code: 503,
    });
    expect(result.elapsedMs).toBeGreaterThanOrEqual(180);
    expect(result.elapsedMs).toBeLessThan(1500);

    const warning = server.logs.find((line) => line['msg'] === 'user store not ready');
    expect(warning?.['level']).toBe(40);
    expect(JSON.stringify(warning?.['err'])).toContain('did not respond within 200 ms');

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^tdb_user_store_errors_total 1$/m);
  });

  it('waits for a slow store up to the bound', async () => {
    const server = await startServerWithSlowPing(300, { READINESS_TIMEOUT_MS: '2000' });

    const result = await timedGet(`${server.url}/readyz`);

    expect(result.status).toBe(200);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(280);
  });
});

describe('GET /healthz', () => {
  it('answers 200 without asking the store', async () => {
    const server = await startServerWithSlowPing(3000, { READINESS_TIMEOUT_MS: '200' });

    const result = await timedGet(`${server.url}/healthz`);

    expect(result.status).toBe(200);
    expect(result.body).toEqual({ status: 'ok' });
    expect(result.elapsedMs).toBeLessThan(500);
    expect(server.pings()).toBe(0);
  });
});
