import { afterAll, beforeAll, expect, it } from 'vitest';

import { startTestServer, type TestServer } from './support/test-server.js';
import { callRest, forgeToken, standardClaims } from './support/transports.js';

// The original service refreshed an expired token even when its audience was wrong.
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ env: { TOKEN_REFRESH_GRACE: '3600' } });
});

afterAll(async () => {
  await server.close();
});

it('refuses an expired token with a wrong audience', async () => {
  const user = await server.addUser();
  const claims = standardClaims(server, user.id);
  const token = forgeToken(server, { ...claims, aud: ['someone-else'] });
  server.clock.advance(3600 + 120);

  const result = await callRest(server, { bearer: token });

  expect(result.status).toBe(401);
  expect(result.headers.get('www-authenticate')).toContain('error="invalid_token"');
  expect(result.body['message']).toMatch(/"aud"/);
});
