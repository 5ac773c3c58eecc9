import { closeSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestServer, type TestServer } from './support/test-server.js';
import { transports } from './support/transports.js';

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  const user = await server.addUser();
  token = await server.issueToken(user.id);
  damageDatabase(server.config.database.kind === 'sqlite' ? server.config.database.path : '');
});

afterAll(async () => {
  await server.close();
});

/**
 * Overwrites the SQLite file and its shared-memory index in place, the way a failing disk or a
 * stray copy would, so the open connection can no longer read it. Root ignores file modes, so
 * removing read permission would not make the file unreadable in CI.
 */
function damageDatabase(file: string): void {
  writeFileSync(file, Buffer.alloc(statSync(file).size, 0x41));
  const index = openSync(`${file}-shm`, 'r+');
  writeSync(index, Buffer.alloc(statSync(`${file}-shm`).size, 0));
  closeSync(index);
  writeFileSync(`${file}-wal`, Buffer.alloc(0));
}

describe.each(transports)('unreadable user store over %s', (transport, call) => {
  it('answers 503 without a stack', async () => {
    const result = await call(server, { bearer: token });

    expect(result.status).toBe(503);
    expect(result.body['message']).toBe('user store unavailable, try again later');
    expect(JSON.stringify(result.body)).not.toMatch(/at .*\.(ts|js):\d+|SQLITE/);
    if (transport === 'REST') {
      expect(result.body).toEqual({
        status: 'Service Unavailable',
        message: 'user store unavailable, try again later',
        code: 503,
      });
    }
  });
});

it('reports the store as not ready', async () => {
  const response = await fetch(`${server.url}/readyz`);

  expect(response.status).toBe(503);
  expect(await response.json()).toEqual({
    status: 'Service Unavailable',
    message: 'user store unavailable',
    code: 503,
  });
});

it('logs the cause once however many probes fail', async () => {
  for (let probe = 0; probe < 3; probe += 1) {
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
  }

  const warnings = server.logs.filter((line) => line.includes('"msg":"user store not ready"'));
  expect(warnings).toHaveLength(1);
});

it('still answers the liveness probe', async () => {
  const response = await fetch(`${server.url}/healthz`);
  expect(response.status).toBe(200);
});
