import { afterAll, beforeAll, expect, it, vi } from 'vitest';

import { createTestDatabase, describeWithPostgres, type TestDatabase } from './support/postgres.js';
import { runTdb, type ServerProcess, startServerProcess } from './support/server-process.js';

// These tests start processes or a browser, which takes several times longer on a busy CI machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

/** GET /v1/token with a Bearer token; returns the status and the parsed body. */
async function refresh(server: ServerProcess, token: string) {
  const response = await fetch(`${server.url}/v1/token`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** GET /trpc/token.refresh with a Bearer token; returns the HTTP status and the tRPC envelope. */
async function refreshTrpc(server: ServerProcess, token: string) {
  const response = await fetch(`${server.url}/trpc/token.refresh`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describeWithPostgres('two replicas on one PostgreSQL database', (serverUrl) => {
  let database: TestDatabase;
  let env: Record<string, string>;
  let first: ServerProcess;
  let second: ServerProcess;

  beforeAll(async () => {
    database = await createTestDatabase(serverUrl);
    env = { DATABASE_URL: database.url };
    // Started together, so both apply the migrations at the same time on an empty database.
    [first, second] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  });

  afterAll(async () => {
    await first?.stop();
    await second?.stop();
    await database?.drop();
  });

  it('listens on two addresses', () => {
    expect(first.url).not.toBe(second.url);
  });

  it('refreshes on one replica a token refreshed on the other', async () => {
    const added = await runTdb(['user', 'add', '--scope', 'read'], env);
    expect(added.status).toBe(0);
    const issued = await runTdb(['token', 'issue', added.stdout], env);
    expect(issued.status).toBe(0);

    const onFirst = await refresh(first, issued.stdout);
    expect(onFirst.status).toBe(201);
    const onSecond = await refresh(second, String(onFirst.body['token']));
    expect(onSecond.status).toBe(201);
    const again = await refresh(first, String(onSecond.body['token']));
    expect(again.status).toBe(201);
  });

  it('answers 403 on both replicas after tdb user lock', async () => {
    const added = await runTdb(['user', 'add'], env);
    const id = added.stdout;
    const token = (await runTdb(['token', 'issue', id], env)).stdout;
    expect((await refresh(first, token)).status).toBe(201);
    expect((await refresh(second, token)).status).toBe(201);

    const locked = await runTdb(['user', 'lock', id], env);
    expect(locked).toEqual({ status: 0, stdout: `user ${id} locked`, stderr: '' });

    const lockedBody = { status: 'Forbidden', message: 'User is locked', code: 403 };
    expect(await refresh(first, token)).toEqual({ status: 403, body: lockedBody });
    expect(await refresh(second, token)).toEqual({ status: 403, body: lockedBody });

    const overTrpc = await refreshTrpc(second, token);
    expect(overTrpc.status).toBe(403);
    expect(overTrpc.body).toMatchObject({
      error: { message: 'User is locked', data: { httpStatus: 403 } },
    });
  });

  it('refreshes again on both replicas after tdb user unlock', async () => {
    const id = (await runTdb(['user', 'add'], env)).stdout;
    const token = (await runTdb(['token', 'issue', id], env)).stdout;
    await runTdb(['user', 'lock', id], env);
    expect((await refresh(first, token)).status).toBe(403);

    const unlocked = await runTdb(['user', 'unlock', id], env);
    expect(unlocked.status).toBe(0);

    expect((await refresh(first, token)).status).toBe(201);
    expect((await refresh(second, token)).status).toBe(201);
  });

  it('answers 401 user not found on both replicas after tdb user remove', async () => {
    const id = (await runTdb(['user', 'add'], env)).stdout;
    const token = (await runTdb(['token', 'issue', id], env)).stdout;

    expect((await runTdb(['user', 'remove', id], env)).status).toBe(0);

    for (const server of [first, second]) {
      const result = await refresh(server, token);
      expect(result.status).toBe(401);
      expect(result.body['message']).toBe('user not found');
    }
  });

  it('reports both replicas ready', async () => {
    for (const server of [first, second]) {
      const response = await fetch(`${server.url}/readyz`);
      expect(response.status).toBe(200);
    }
  });
});
