import { describe, expect, expectTypeOf, it } from 'vitest';

import {
  createAuthenticatedFetch,
  readTokenTimes,
  TokenRefreshError,
  TokenSession,
} from '../src/index.js';
import {
  createRestClient,
  type ErrorBody,
  refreshOverRest,
  type TokenResponse,
} from '../src/rest/index.js';
import { setupLiveServers } from './support/live-servers.js';
import { refreshRequests } from './support/server-requests.js';

const LIFETIME_SECONDS = 3600;

const servers = setupLiveServers();

async function start() {
  const started = await servers.startTokenServer();
  return { ...started, token: await started.server.issueToken(started.userId) };
}

function bearer(token: string) {
  return { headers: { authorization: `Bearer ${token}` } };
}

describe('REST client from the OpenAPI document', () => {
  it('refreshes a token with a typed 201 body', async () => {
    const { server, token } = await start();
    const rest = createRestClient({ baseUrl: server.url });

    const { data, error, response } = await rest.GET('/v1/token', bearer(token));

    expectTypeOf(data).toEqualTypeOf<TokenResponse | undefined>();
    expect(response.status).toBe(201);
    expect(error).toBeUndefined();
    expect(data?.expires).toBe(readTokenTimes(data?.token ?? '').expires);
    expect(data?.token).not.toBe(token);
  });

  it('returns a typed error body for 401', async () => {
    const { server, clock, userId } = await start();
    clock.shiftMs = -2 * LIFETIME_SECONDS * 1000;
    const expired = await server.issueToken(userId);
    clock.shiftMs = 0;
    const rest = createRestClient({ baseUrl: server.url });

    const { data, error, response } = await rest.GET('/v1/token', bearer(expired));

    expectTypeOf(error).toEqualTypeOf<ErrorBody | undefined>();
    expect(data).toBeUndefined();
    expect(response.status).toBe(401);
    expect(error).toEqual({ status: 'Unauthorized', message: 'token expired', code: 401 });
  });

  it('returns a typed error body for 403', async () => {
    const { server, userId, token } = await start();
    await server.store.setLocked(userId, true);
    const rest = createRestClient({ baseUrl: server.url });

    const { error, response } = await rest.GET('/v1/token', bearer(token));

    expect(response.status).toBe(403);
    expect(error).toEqual({ status: 'Forbidden', message: 'User is locked', code: 403 });
  });

  it('accepts the token as query parameter', async () => {
    const { server, token } = await start();
    const rest = createRestClient({ baseUrl: `${server.url}/` });

    const { data, response } = await rest.GET('/v1/token', { params: { query: { token } } });

    expect(response.status).toBe(201);
    expect(typeof data?.token).toBe('string');
  });
});

describe('token session refreshing over REST', () => {
  it('refreshes and types 403 and 401 failures', async () => {
    const { server, userId, token } = await start();
    const session = servers.closeAfterTest(
      new TokenSession({ baseUrl: server.url, token, refresh: refreshOverRest() }),
    );

    const refreshed = await session.refresh();
    expect(refreshed.token).not.toBe(token);
    expect(refreshRequests(server)).toEqual([{ method: 'GET', path: '/v1/token', status: 201 }]);

    await server.store.setLocked(userId, true);
    const locked = await session.refresh().catch((error: unknown) => error);
    expect(locked).toBeInstanceOf(TokenRefreshError);
    expect(locked).toMatchObject({
      kind: 'user_locked',
      status: 403,
      reason: undefined,
      terminal: true,
    });
    expect((locked as Error).message).toBe('token refresh failed with status 403: User is locked');

    await server.store.setLocked(userId, false);
    await server.store.removeUser(userId);
    session.setToken(token);
    const invalid = await session.refresh().catch((error: unknown) => error);
    expect(invalid).toMatchObject({ kind: 'invalid_token', status: 401, terminal: true });
    expect((invalid as Error).message).toBe('token refresh failed with status 401: user not found');
  });

  it('keeps an authenticated REST client fresh', async () => {
    const { server, clock, userId } = await start();
    clock.shiftMs = -(LIFETIME_SECONDS - 10) * 1000;
    const token = await server.issueToken(userId);
    clock.shiftMs = 0;
    const session = servers.closeAfterTest(
      new TokenSession({ baseUrl: server.url, token, refresh: refreshOverRest() }),
    );
    const rest = createRestClient({
      baseUrl: server.url,
      fetch: createAuthenticatedFetch(session),
    });

    // The call itself is a refresh too: the session refreshes the expiring token first, then
    // the call exchanges the fresh one.
    const { data, response } = await rest.GET('/v1/token');

    expect(response.status).toBe(201);
    expect(typeof data?.token).toBe('string');
    expect(refreshRequests(server).map((request) => request.status)).toEqual([201, 201]);
    expect(session.token).not.toBe(token);
  });
});
