import { afterEach, describe, expect, it } from 'vitest';

import { startTestServer, type TestServer } from './support/test-server.js';
import { callRest, forgeToken, standardClaims, transports } from './support/transports.js';

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serverWith(env: Record<string, string>) {
  server = await startTestServer({ env: { TOKEN_LIFETIME: '3600', ...env } });
  const user = await server.addUser();
  const token = await server.issueToken(user.id);
  const exp = server.clock.seconds() + 3600;
  return { server, token, exp, userId: user.id };
}

describe.each(transports)('expiry over %s', (transport, call) => {
  const ok = transport === 'REST' ? 201 : 200;

  it('refuses a token exactly at exp with no leeway', async () => {
    const { server, token, exp } = await serverWith({ JWT_LEEWAY: '0' });
    server.clock.set(exp - 1);
    expect((await call(server, { bearer: token })).status).toBe(ok);

    server.clock.set(exp);
    const result = await call(server, { bearer: token });
    expect(result.status).toBe(401);
    expect(result.body['message']).toBe('token expired');
  });

  it('accepts a token inside the leeway and refuses it past', async () => {
    const { server, token, exp } = await serverWith({ JWT_LEEWAY: '30' });
    server.clock.set(exp + 29);
    expect((await call(server, { bearer: token })).status).toBe(ok);

    server.clock.set(exp + 30);
    expect((await call(server, { bearer: token })).status).toBe(401);
  });

  it('accepts a token inside the refresh grace and refuses it past', async () => {
    const { server, token, exp } = await serverWith({
      JWT_LEEWAY: '30',
      TOKEN_REFRESH_GRACE: '600',
    });
    server.clock.set(exp + 629);
    expect((await call(server, { bearer: token })).status).toBe(ok);

    server.clock.set(exp + 630);
    const result = await call(server, { bearer: token });
    expect(result.status).toBe(401);
    expect(result.body['message']).toBe('token expired');
  });
});

describe('refresh grace', () => {
  it('never rescues an expired token with a wrong audience', async () => {
    const { server, exp, userId } = await serverWith({
      JWT_LEEWAY: '0',
      TOKEN_REFRESH_GRACE: '600',
    });
    const wrongAudience = forgeToken(server, {
      ...standardClaims(server, userId),
      aud: 'other-api',
    });
    server.clock.set(exp + 60);

    const result = await callRest(server, { bearer: wrongAudience });

    expect(result.status).toBe(401);
    expect(result.body['message']).toBe('"aud" claim must contain "tdb-api"');
  });

  it('gives a refreshed token a full lifetime from now', async () => {
    const { server, token, exp } = await serverWith({
      JWT_LEEWAY: '0',
      TOKEN_REFRESH_GRACE: '600',
    });
    server.clock.set(exp + 60);

    const result = await callRest(server, { bearer: token });

    expect(result.status).toBe(201);
    expect(result.body['expires']).toBe(exp + 60 + 3600);
  });
});
