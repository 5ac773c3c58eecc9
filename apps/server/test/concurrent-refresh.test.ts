import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestServer, type TestServer } from './support/test-server.js';
import { decodePayload, transports } from './support/transports.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

describe.each(transports)('concurrent refreshes over %s', (transport, call) => {
  it('answers 50 at once, each with a new token', async () => {
    const users = await Promise.all(Array.from({ length: 5 }, () => server.addUser()));
    const tokens = await Promise.all(
      Array.from({ length: 50 }, (_, index) => server.issueToken(users[index % 5]?.id ?? '')),
    );

    const results = await Promise.all(tokens.map((token) => call(server, { bearer: token })));

    const statuses = results.map((result) => result.status);
    expect(statuses).toEqual(Array.from({ length: 50 }, () => (transport === 'REST' ? 201 : 200)));
    const ids = new Set(
      results.map((result) => decodePayload(result.body['token'] as string)['jti']),
    );
    expect(ids.size).toBe(50);
  });
});
