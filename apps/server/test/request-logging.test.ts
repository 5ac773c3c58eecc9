import { afterAll, beforeAll, expect, it } from 'vitest';

import { startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

it('logs one line per request with status and time, and no token', async () => {
  const user = await server.addUser();
  const headerToken = await server.issueToken(user.id);
  server.clock.advance(1);
  const queryToken = await server.issueToken(user.id);
  const before = server.logs.length;

  const viaHeader = await fetch(`${server.url}/v1/token`, {
    headers: { authorization: `Bearer ${headerToken}` },
  });
  const viaQuery = await fetch(`${server.url}/v1/token?token=${queryToken}`);
  const viaTrpc = await fetch(
    `${server.url}/trpc/token.refresh?input=${encodeURIComponent(JSON.stringify({ token: queryToken }))}`,
  );
  const issued = [
    ((await viaHeader.json()) as { token: string }).token,
    ((await viaQuery.json()) as { token: string }).token,
    ((await viaTrpc.json()) as { result: { data: { token: string } } }).result.data.token,
  ];

  const lines = server.logs.slice(before);
  expect(lines).toHaveLength(3);

  const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(entries.map((entry) => entry['status'])).toEqual([201, 201, 200]);
  for (const entry of entries) {
    expect(typeof entry['responseTimeMs']).toBe('number');
    expect(entry['userId']).toBe(user.id);
  }
  expect(entries[1]?.['url']).toBe('/v1/token?token=[REDACTED]');

  const text = server.logs.join('\n');
  for (const token of [headerToken, queryToken, ...issued]) {
    for (const part of token.split('.')) {
      expect(text).not.toContain(part);
    }
  }
  expect(text.toLowerCase()).not.toContain('bearer');
});

it('logs a failed refresh with its reason and no token', async () => {
  const before = server.logs.length;

  await fetch(`${server.url}/v1/token`, { headers: { authorization: 'Bearer abc.def.ghi' } });

  const entry = JSON.parse(server.logs[before] ?? '{}') as Record<string, unknown>;
  expect(entry['status']).toBe(401);
  expect(entry['reason']).toBe('ERR_JWS_INVALID');
  expect(server.logs.slice(before).join('\n')).not.toContain('abc.def.ghi');
});
