import { reasonPhrase, USER_LOCKED_MESSAGE } from '@tdb/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { rawRequest } from './support/raw-request.js';
import { startTestServer, type TestServer } from './support/test-server.js';
import {
  type CallResult,
  callRest,
  callTrpc,
  forgeToken,
  standardClaims,
  transports,
  without,
} from './support/transports.js';

let server: TestServer;
let failingSigner: TestServer;
let userId: string;
let lockedUserId: string;

beforeAll(async () => {
  server = await startTestServer();
  userId = (await server.addUser({ scopes: ['read'] })).id;
  lockedUserId = (await server.addUser({ locked: true })).id;

  failingSigner = await startTestServer({
    signer: async () => {
      throw new Error('key unavailable');
    },
  });
});

afterAll(async () => {
  await server.close();
  await failingSigner.close();
});

/** Asserts the transport-specific shape of a failure: the REST body, or the tRPC error data. */
function expectFailure(
  transport: string,
  result: CallResult,
  status: number,
  message: RegExp | string,
) {
  expect(result.status).toBe(status);

  if (transport === 'REST') {
    expect(Object.keys(result.body).sort()).toEqual(['code', 'message', 'status']);
    expect(result.body['code']).toBe(status);
    expect(result.body['status']).toBe(reasonPhrase(status));
  } else {
    const data = result.body['data'] as Record<string, unknown>;
    expect(data['httpStatus']).toBe(status);
    expect(data).not.toHaveProperty('stack');
  }

  const text = result.body['message'];
  expect(typeof text).toBe('string');
  expect(text).not.toMatch(/[\r\n]/);
  if (typeof message === 'string') expect(text).toBe(message);
  else expect(text).toMatch(message);
}

function expectInvalidTokenChallenge(result: CallResult) {
  const challenge = result.headers.get('www-authenticate') ?? '';
  expect(challenge).toMatch(
    /^Bearer realm="tdb", error="invalid_token", error_description="[^"\\]*"$/,
  );
}

describe.each(transports)('token.refresh over %s', (transport, call) => {
  it('answers a valid token with a new one and no-store', async () => {
    const token = await server.issueToken(userId);
    const result = await call(server, { bearer: token });

    expect(result.status).toBe(transport === 'REST' ? 201 : 200);
    expect(result.headers.get('cache-control')).toBe('no-store');
    expect(result.headers.get('pragma')).toBe('no-cache');
    expect(typeof result.body['token']).toBe('string');
    expect(result.body['token']).not.toBe(token);
    expect(result.body['expires']).toBe(
      server.clock.seconds() + server.config.tokenLifetimeSeconds,
    );
  });

  it('accepts the token as a query parameter or input field', async () => {
    const result = await call(server, { token: await server.issueToken(userId) });
    expect(result.status).toBe(transport === 'REST' ? 201 : 200);
  });

  it('matches the Bearer scheme case-insensitively with several spaces', async () => {
    const token = await server.issueToken(userId);
    const result = await call(server, { authorization: `bEaReR    ${token}` });
    expect(result.status).toBe(transport === 'REST' ? 201 : 200);
  });

  it('answers a missing token with 401 and a bare challenge', async () => {
    const result = await call(server);
    expectFailure(transport, result, 401, /^token missing/);
    expect(result.headers.get('www-authenticate')).toBe('Bearer realm="tdb"');
    expect(result.headers.get('cache-control')).toBe('no-store');
  });

  it('treats another scheme as a missing token', async () => {
    const result = await call(server, { authorization: 'Basic dXNlcjpwYXNz' });
    expectFailure(transport, result, 401, /^token missing/);
    expect(result.headers.get('www-authenticate')).toBe('Bearer realm="tdb"');
  });

  it.each([
    ['a malformed token', (_s: TestServer) => 'not-a-jwt', /malformed/],
    ['an empty Bearer token', (_s: TestServer) => '', /malformed|empty/],
    [
      'a bad signature',
      (s: TestServer) =>
        forgeToken(s, standardClaims(s, userId), {}, 'another-secret-that-is-long-enough-1234'),
      /signature verification failed/,
    ],
    [
      'alg HS512',
      (s: TestServer) => forgeToken(s, standardClaims(s, userId), { alg: 'HS512' }),
      /alg "HS512" is not allowed/,
    ],
    [
      'alg none',
      (s: TestServer) =>
        `${forgeToken(s, standardClaims(s, userId), { alg: 'none' }).split('.').slice(0, 2).join('.')}.`,
      /alg "none" is not allowed/,
    ],
    [
      'an unknown crit entry',
      (s: TestServer) => forgeToken(s, standardClaims(s, userId), { crit: ['exp2'], exp2: 1 }),
      /"crit"/,
    ],
    [
      'a wrong issuer',
      (s: TestServer) => forgeToken(s, { ...standardClaims(s, userId), iss: 'evil' }),
      /"iss"/,
    ],
    [
      'a wrong audience',
      (s: TestServer) => forgeToken(s, { ...standardClaims(s, userId), aud: 'other-api' }),
      /"aud"/,
    ],
    [
      'no sub',
      (s: TestServer) => forgeToken(s, without(standardClaims(s, userId), 'sub')),
      /"sub"/,
    ],
    [
      'no exp',
      (s: TestServer) => forgeToken(s, without(standardClaims(s, userId), 'exp')),
      /"exp"/,
    ],
    [
      'no iat',
      (s: TestServer) => forgeToken(s, without(standardClaims(s, userId), 'iat')),
      /"iat"/,
    ],
    [
      'nbf in the future',
      (s: TestServer) =>
        forgeToken(s, { ...standardClaims(s, userId), nbf: s.clock.seconds() + 600 }),
      /"nbf"/,
    ],
    [
      'iat in the future',
      (s: TestServer) =>
        forgeToken(s, { ...standardClaims(s, userId), iat: s.clock.seconds() + 600 }),
      /"iat"/,
    ],
    [
      'an expired token',
      (s: TestServer) =>
        forgeToken(s, {
          ...standardClaims(s, userId),
          iat: s.clock.seconds() - 7200,
          exp: s.clock.seconds() - 3600,
        }),
      /^token expired$/,
    ],
    ['a token over 8 KiB', (_s: TestServer) => 'a'.repeat(9000), /too large/],
    [
      'a user that does not exist',
      (s: TestServer) => forgeToken(s, standardClaims(s, 'no-such-user')),
      /^user not found$/,
    ],
  ])('answers %s with 401 invalid_token', async (_case, makeToken, message) => {
    const result = await call(server, { authorization: `Bearer ${makeToken(server)}` });
    expectFailure(transport, result, 401, message);
    expectInvalidTokenChallenge(result);
  });

  it('answers a locked user with 403 "User is locked"', async () => {
    const result = await call(server, { bearer: await server.issueToken(lockedUserId) });
    expectFailure(transport, result, 403, USER_LOCKED_MESSAGE);
    expect(result.headers.get('www-authenticate')).toBeNull();
  });

  it('answers a signing failure with 422 and the reason', async () => {
    const user = await failingSigner.addUser();
    const result = await call(failingSigner, { bearer: await failingSigner.issueToken(user.id) });
    expectFailure(transport, result, 422, 'token signing failed: key unavailable');
  });

  it('answers a token in both header and query with 400', async () => {
    const token = await server.issueToken(userId);
    const result = await call(server, { bearer: token, token });
    expectFailure(
      transport,
      result,
      400,
      /both in the Authorization header and in the "token" parameter/,
    );
  });
});

describe('public endpoints', () => {
  it.each(['/healthz', '/readyz', '/openapi.json', '/.well-known/jwks.json'])(
    'answers HEAD %s like GET, without a body',
    async (path) => {
      const response = await fetch(`${server.url}${path}`, { method: 'HEAD' });

      expect(response.status).toBe(200);
      expect(await response.text()).toBe('');
    },
  );
});

describe('REST request shape', () => {
  it('answers two Authorization headers with 400', async () => {
    const token = await server.issueToken(userId);
    const response = await rawRequest(`${server.url}/v1/token`, [
      'Authorization',
      `Bearer ${token}`,
      'Authorization',
      `Bearer ${token}`,
    ]);

    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toEqual({
      status: 'Bad Request',
      message: 'request has 2 Authorization headers; send exactly one',
      code: 400,
    });
  });

  it('answers two Authorization headers on tRPC with 400', async () => {
    const token = await server.issueToken(userId);
    const response = await rawRequest(`${server.url}/trpc/token.refresh`, [
      'Authorization',
      `Bearer ${token}`,
      'authorization',
      'Basic dXNlcjpwYXNz',
    ]);

    expect(response.status).toBe(400);
    expect(JSON.parse(response.body).error.data.httpStatus).toBe(400);
  });

  it('answers a repeated token parameter with 400', async () => {
    const token = await server.issueToken(userId);
    const response = await fetch(`${server.url}/v1/token?token=${token}&token=${token}`);

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      status: 'Bad Request',
      message: 'the "token" parameter is repeated; send it once',
      code: 400,
    });
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'])(
    'answers %s with 405 and Allow',
    async (method) => {
      const response = await fetch(`${server.url}/v1/token`, { method });

      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET');
      if (method !== 'HEAD') {
        expect(await response.json()).toEqual({
          status: 'Method Not Allowed',
          message: `method ${method} is not allowed on /v1/token; use GET`,
          code: 405,
        });
      }
    },
  );

  it.each([
    ['an XML body', 'text/xml', '<token/>'],
    ['invalid JSON', 'application/json', '{"token":'],
  ])('answers a POST with %s with 405, not 415 or 400', async (_case, contentType, body) => {
    const response = await fetch(`${server.url}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });

    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET');
    expect(((await response.json()) as { code: number }).code).toBe(405);
  });

  it('answers an unknown path with 404 in the error shape', async () => {
    const response = await fetch(`${server.url}/v2/nothing?token=abc`);

    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      status: 'Not Found',
      message: 'no route for GET /v2/nothing',
      code: 404,
    });
  });

  it('gives tRPC the same status and message as REST for every failure', async () => {
    const token = forgeToken(server, { ...standardClaims(server, userId), aud: 'other-api' });
    const rest = await callRest(server, { bearer: token });
    const trpc = await callTrpc(server, { bearer: token });

    expect(trpc.status).toBe(rest.status);
    expect(trpc.body['message']).toBe(rest.body['message']);
    expect((trpc.body['data'] as Record<string, unknown>)['kind']).toBe('invalid_token');
    expect((trpc.body['data'] as Record<string, unknown>)['reason']).toBe(
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
    );
  });
});
