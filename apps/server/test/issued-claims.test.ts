import Database from 'better-sqlite3';
import { jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestServer, TEST_SECRET, type TestServer } from './support/test-server.js';
import { callRest, callTrpc, decodeHeader, decodePayload } from './support/transports.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    env: { JWT_ISSUER: 'tdb-test', JWT_AUDIENCE: 'tdb-test-api', TOKEN_LIFETIME: '900' },
  });
});

afterAll(async () => {
  await server.close();
});

describe('issued claims', () => {
  it('sets iss, aud, sub, iat, exp and a fresh jti', async () => {
    const user = await server.addUser({ scopes: ['read'] });
    const old = await server.issueToken(user.id);
    server.clock.advance(60);

    const result = await callRest(server, { bearer: old });
    const token = result.body['token'] as string;
    const claims = decodePayload(token);

    expect(claims['iss']).toBe('tdb-test');
    expect(claims['aud']).toBe('tdb-test-api');
    expect(claims['sub']).toBe(user.id);
    expect(claims['iat']).toBe(server.clock.seconds());
    expect(claims['exp']).toBe(server.clock.seconds() + 900);
    expect(result.body['expires']).toBe(claims['exp']);
    expect(typeof claims['jti']).toBe('string');
    expect(claims['jti']).not.toBe(decodePayload(old)['jti']);
  });

  it('signs a header of alg, typ JWT and the key id', async () => {
    const user = await server.addUser();
    const result = await callRest(server, { bearer: await server.issueToken(user.id) });

    expect(decodeHeader(result.body['token'] as string)).toEqual({
      alg: 'HS256',
      typ: 'JWT',
      kid: server.keys.signing.kid,
    });
  });

  it('issues a token jose verifies with the same secret, issuer and audience', async () => {
    const user = await server.addUser();
    const result = await callRest(server, { bearer: await server.issueToken(user.id) });

    const { payload } = await jwtVerify(
      result.body['token'] as string,
      new TextEncoder().encode(TEST_SECRET),
      {
        issuer: 'tdb-test',
        audience: 'tdb-test-api',
        algorithms: ['HS256'],
        currentDate: new Date(server.clock.now()),
      },
    );
    expect(payload.sub).toBe(user.id);
  });

  it('keeps only the scopes the user still has', async () => {
    const user = await server.addUser({ scopes: ['read', 'write'] });
    const old = await server.issueToken(user.id, ['read', 'write', 'admin']);

    const result = await callRest(server, { bearer: old });

    expect(decodePayload(result.body['token'] as string)['scope']).toEqual(['read', 'write']);
  });

  it('drops a scope revoked since the last refresh', async () => {
    const user = await server.addUser({ scopes: ['read', 'write'] });
    const token = await server.issueToken(user.id);
    revokeScopes(user.id, ['read']);

    const result = await callTrpc(server, { bearer: token });

    expect(decodePayload(token)['scope']).toEqual(['read', 'write']);
    expect(decodePayload(result.body['token'] as string)['scope']).toEqual(['read']);
  });

  it('keeps aud unchanged over five refreshes', async () => {
    const user = await server.addUser();
    let token = await server.issueToken(user.id);

    for (let round = 0; round < 5; round += 1) {
      server.clock.advance(30);
      const result = await callRest(server, { bearer: token });
      expect(result.status).toBe(201);
      token = result.body['token'] as string;
      expect(decodePayload(token)['aud']).toBe('tdb-test-api');
      expect(decodePayload(token)['iss']).toBe('tdb-test');
    }
  });
});

/** Changes a user's scopes in the SQLite file from another connection, as an operator's SQL would. */
function revokeScopes(id: string, remaining: string[]): void {
  const db = new Database(
    server.config.database.kind === 'sqlite' ? server.config.database.path : '',
  );
  db.prepare('UPDATE users SET scopes = ? WHERE id = ?').run(JSON.stringify(remaining), id);
  db.close();
}
