import { connect } from 'node:net';

import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';

import { closeGracefully } from '../src/shutdown.js';
import { createTokenSigner, type TokenSigner } from '../src/tokens/sign-token.js';
import { createTestDatabase, describeWithPostgres } from './support/postgres.js';
import { runTdb, startServerProcess } from './support/server-process.js';
import { startTestServer, type TestServer } from './support/test-server.js';

// These tests start processes or a browser, which takes several times longer on a busy CI machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

/**
 * Creates a real signer that waits at a gate first, so a test keeps requests in flight for as
 * long as it needs. `entered` counts the requests waiting at the gate.
 */
function gatedSigner() {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const state = { entered: 0, sign: undefined as TokenSigner | undefined };
  const signer: TokenSigner = async (request) => {
    state.entered += 1;
    await gate;
    if (state.sign === undefined) throw new Error('the test did not set the real signer');
    return state.sign(request);
  };
  return { signer, state, open: () => open() };
}

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 5000) {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolves with the error code of a new TCP connection attempt, or 'connected'. */
function tryConnect(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

async function refreshStatus(url: string, token: string): Promise<number | string> {
  try {
    const response = await fetch(`${url}/v1/token`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await response.arrayBuffer();
    return response.status;
  } catch (error) {
    return `failed: ${(error as Error).message}`;
  }
}

function logMessages(server: TestServer): string[] {
  return server.logs.map((line) => String((JSON.parse(line) as { msg?: unknown }).msg));
}

describe('closeGracefully', () => {
  it('lets in-flight requests finish, then stops', async () => {
    const gated = gatedSigner();
    await using server = await startTestServer({ signer: gated.signer });
    gated.state.sign = createTokenSigner(server.keys.signing);
    const user = await server.addUser();
    const token = await server.issueToken(user.id);

    const requests = [1, 2, 3].map(() => refreshStatus(server.url, token));
    await waitUntil(() => gated.state.entered === 3);

    const started = performance.now();
    const closing = closeGracefully(server.app, 'SIGTERM', 5000);
    expect(await tryConnect(server.url)).toBe('ECONNREFUSED');

    setTimeout(gated.open, 300);
    expect(await Promise.all(requests)).toEqual([201, 201, 201]);
    expect(await closing).toBe(0);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);

    const messages = logMessages(server);
    expect(messages).toContain('stopping server: waiting for in-flight requests');
    expect(messages).toContain('shutdown complete');
    expect(messages).toContain('server stopped');
  });

  it('serves a busy connection during the close', async () => {
    const gated = gatedSigner();
    await using server = await startTestServer({ signer: gated.signer });
    gated.state.sign = createTokenSigner(server.keys.signing);
    const user = await server.addUser();
    const token = await server.issueToken(user.id);

    const { hostname, port } = new URL(server.url);
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const socketClosed = new Promise((resolve) => socket.once('close', resolve));
    const refresh = `GET /v1/token HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${token}\r\n\r\n`;

    socket.write(refresh);
    await waitUntil(() => gated.state.entered === 1);
    const closing = closeGracefully(server.app, 'SIGTERM', 5000);
    socket.write(refresh);
    // The second refresh reaches the signer too, rather than getting a 503 at once.
    await waitUntil(() => gated.state.entered === 2);
    gated.open();
    await socketClosed;

    const text = Buffer.concat(chunks).toString('utf8');
    // The second status line follows the first body directly, not at the start of a line.
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => match[1]);
    expect(statuses).toEqual(['201', '201']);
    expect(text).toMatch(/^connection: close\r$/im);
    expect(await closing).toBe(0);
  });

  it('stops at once when no request is in flight', async () => {
    await using server = await startTestServer();

    const started = performance.now();
    expect(await closeGracefully(server.app, 'SIGINT', 5000)).toBe(0);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('cuts requests off after the timeout and returns 1', async () => {
    const gated = gatedSigner();
    await using server = await startTestServer({ signer: gated.signer });
    gated.state.sign = createTokenSigner(server.keys.signing);
    const user = await server.addUser();
    const token = await server.issueToken(user.id);

    const requests = [1, 2].map(() => refreshStatus(server.url, token));
    await waitUntil(() => gated.state.entered === 2);

    const started = performance.now();
    expect(await closeGracefully(server.app, 'SIGTERM', 300)).toBe(1);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(3000);

    for (const status of await Promise.all(requests)) expect(status).toMatch(/^failed: /);
    const timedOut = server.logs
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line['msg'] === 'shutdown timed out: closing the remaining connections');
    expect(timedOut).toMatchObject({ level: 40, timeoutMs: 300, openConnections: 2 });

    gated.open();
  });
});

describeWithPostgres('tdb serve on SIGTERM', (serverUrl) => {
  /**
   * Holds an exclusive lock on the users table, so every refresh waits inside PostgreSQL: a
   * real slow store. Resolves once `count` server queries wait for the lock.
   */
  async function lockUsers(databaseUrl: string, count: number) {
    const blocker = new pg.Client({ connectionString: databaseUrl });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');

    const waiting = async () => {
      // Statistics views keep one snapshot per transaction unless it is cleared.
      await blocker.query('SELECT pg_stat_clear_snapshot()');
      const result = await blocker.query<{ count: string }>(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tdb' AND wait_event_type = 'Lock'",
      );
      return Number(result.rows[0]?.count) === count;
    };
    const release = async () => {
      await blocker.query('COMMIT');
      await blocker.end();
    };
    return { waiting, release };
  }

  it('finishes in-flight refreshes, closes the store and exits 0', async () => {
    await using database = await createTestDatabase(serverUrl);
    const env = {
      DATABASE_URL: database.url,
      DATABASE_QUERY_TIMEOUT_MS: '15000',
      SHUTDOWN_TIMEOUT_MS: '10000',
    };
    await using server = await startServerProcess(env);
    const id = (await runTdb(['user', 'add'], env)).stdout;
    const token = (await runTdb(['token', 'issue', id], env)).stdout;

    const lock = await lockUsers(database.url, 3);
    const requests = [1, 2, 3].map(() => refreshStatus(server.url, token));
    try {
      await waitUntil(lock.waiting);

      server.child.kill('SIGTERM');
      const stopping = await server.waitForLog('stopping server');
      expect(stopping).toMatchObject({ signal: 'SIGTERM', timeoutMs: 10_000 });
      // The listener closes right after that line is written, once Fastify's preClose hooks ran.
      await waitUntil(async () => (await tryConnect(server.url)) === 'ECONNREFUSED', 2000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(server.child.exitCode).toBeNull();
    } finally {
      await lock.release();
    }

    expect(await Promise.all(requests)).toEqual([201, 201, 201]);
    expect(await server.exited).toBe(0);
    const messages = server.logs.map((line) => line['msg']);
    expect(messages).toContain('server stopped');
    expect(messages).toContain('user store closed');
    expect(messages).toContain('shutdown complete');
    const lastRequest = messages.lastIndexOf('request completed');
    expect(messages.indexOf('user store closed')).toBeGreaterThan(lastRequest);
  });

  it('exits 1 when in-flight refreshes outlast SHUTDOWN_TIMEOUT_MS', async () => {
    await using database = await createTestDatabase(serverUrl);
    const env = {
      DATABASE_URL: database.url,
      DATABASE_QUERY_TIMEOUT_MS: '15000',
      SHUTDOWN_TIMEOUT_MS: '500',
    };
    await using server = await startServerProcess(env);
    const id = (await runTdb(['user', 'add'], env)).stdout;
    const token = (await runTdb(['token', 'issue', id], env)).stdout;

    const lock = await lockUsers(database.url, 2);
    const requests = [1, 2].map(() => refreshStatus(server.url, token));
    try {
      await waitUntil(lock.waiting);

      const started = performance.now();
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(1);
      // 500 ms of SHUTDOWN_TIMEOUT_MS, then at most 2 s for the store to close, plus slack.
      expect(performance.now() - started).toBeLessThan(8000);
    } finally {
      await lock.release();
    }

    for (const status of await Promise.all(requests)) expect(status).toMatch(/^failed: /);
    expect(server.logs.map((line) => line['msg'])).toContain(
      'shutdown timed out: closing the remaining connections',
    );
  });
});
