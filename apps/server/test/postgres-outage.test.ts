import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, expect, it, vi } from 'vitest';

import { describeWithPostgres } from './support/postgres.js';
import { runTdb, type ServerProcess, startServerProcess } from './support/server-process.js';

// These tests start processes or a browser, which takes several times longer on a busy CI machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const clusterScript = fileURLToPath(new URL('../../../scripts/test-postgres.sh', import.meta.url));

/** Maximum time a refresh or a readiness check may take while the database is down. */
const OUTAGE_ANSWER_BOUND_MS = 3000;

/** Runs scripts/test-postgres.sh with the given arguments and returns its standard output. */
function cluster(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [clusterScript, ...args], { timeout: 90_000 }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout.trim());
      else reject(new Error(`test-postgres.sh ${args[0]} failed: ${stderr.trim()}`));
    });
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

async function timed<T>(action: () => Promise<T>): Promise<{ result: T; elapsedMs: number }> {
  const started = performance.now();
  const result = await action();
  return { result, elapsedMs: performance.now() - started };
}

// The shared test server stays up for the other suites: this one stops and restarts a
// cluster of its own, made by the same script.
describeWithPostgres('PostgreSQL outage and recovery', () => {
  let clusterDir: string;
  let port: string;
  let server: ServerProcess;
  let token: string;

  const refresh = async () => {
    const response = await fetch(`${server.url}/v1/token`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const refreshTrpc = async () => {
    const response = await fetch(`${server.url}/trpc/token.refresh`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const readiness = async () => {
    const response = await fetch(`${server.url}/readyz`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    clusterDir = mkdtempSync(path.join(tmpdir(), 'tdb-outage-postgres-'));
    port = String(await freePort());
    const url = await cluster('start', clusterDir, port);

    const env = {
      DATABASE_URL: url,
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
      DATABASE_QUERY_TIMEOUT_MS: '1000',
      READINESS_TIMEOUT_MS: '500',
    };
    server = await startServerProcess(env);
    const id = (await runTdb(['user', 'add'], env)).stdout;
    token = (await runTdb(['token', 'issue', id], env)).stdout;
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    if (clusterDir !== undefined) await cluster('destroy', clusterDir);
  }, 60_000);

  it('answers 503 while PostgreSQL is down, then 201 again without a restart', async () => {
    expect((await refresh()).status).toBe(201);
    expect((await readiness()).status).toBe(200);

    await cluster('stop', clusterDir);

    const rest = await timed(refresh);
    expect(rest.result).toEqual({
      status: 503,
      body: {
        status: 'Service Unavailable',
        message: 'user store unavailable, try again later',
        code: 503,
      },
    });
    expect(rest.elapsedMs).toBeLessThan(OUTAGE_ANSWER_BOUND_MS);

    const trpc = await timed(refreshTrpc);
    expect(trpc.result.status).toBe(503);
    expect(trpc.result.body).toMatchObject({
      error: {
        message: 'user store unavailable, try again later',
        data: { httpStatus: 503, kind: 'store_unavailable' },
      },
    });
    expect(trpc.elapsedMs).toBeLessThan(OUTAGE_ANSWER_BOUND_MS);

    const ready = await timed(readiness);
    expect(ready.result).toEqual({
      status: 503,
      body: { status: 'Service Unavailable', message: 'user store unavailable', code: 503 },
    });
    expect(ready.elapsedMs).toBeLessThan(OUTAGE_ANSWER_BOUND_MS);

    const live = await fetch(`${server.url}/healthz`);
    expect(live.status).toBe(200);

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^tdb_user_store_errors_total 3$/m);
    expect(metrics).toMatch(/^tdb_token_refreshes_total\{transport="rest",status="503"\} 1$/m);
    expect(metrics).toMatch(/^tdb_token_refreshes_total\{transport="trpc",status="503"\} 1$/m);

    await cluster('start', clusterDir, port);

    // The pool opens a new connection for the next query; no retry loop is needed.
    expect((await refresh()).status).toBe(201);
    expect((await refreshTrpc()).status).toBe(200);
    expect((await readiness()).status).toBe(200);
    expect(server.child.exitCode).toBeNull();
  }, 60_000);

  it('logs the outage without the database password', () => {
    const text = server.logs.map((line) => JSON.stringify(line)).join('\n');

    expect(text).toContain('user store not ready');
    expect(text).not.toContain('tdb-test-password');
  });
});
