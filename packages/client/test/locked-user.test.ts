import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';

import { createTdbClient, TokenRefreshError } from '../src/index.js';
import { setupLiveServers } from './support/live-servers.js';
import { recordingFetch } from './support/recording-fetch.js';
import { loggedRequests, refreshRequests } from './support/server-requests.js';

const LIFETIME_SECONDS = 3600;

const servers = setupLiveServers();

/**
 * Starts a server whose token clock runs LIFETIME - 20 s behind real time. By the `Date` header,
 * every token it issues expires 20 s from now, so the client refreshes before each batch of
 * calls. The server and the resource still accept the token.
 */
async function startWithShortLivedTokens() {
  const started = await servers.start({
    clockShiftMs: -(LIFETIME_SECONDS - 20) * 1000,
    env: { TOKEN_LIFETIME: String(LIFETIME_SECONDS) },
  });
  return { ...started, token: await started.server.issueToken(started.userId) };
}

function settle<T>(promises: Promise<T>[]) {
  return Promise.allSettled(promises);
}

describe('user locked between two refreshes', () => {
  it('rejects waiting calls with one error, then stops', async () => {
    const { server, resource, userId, token } = await startWithShortLivedTokens();
    const recorder = recordingFetch();
    const failures: TokenRefreshError[] = [];
    const client = servers.closeAfterTest(
      createTdbClient({
        baseUrl: server.url,
        token,
        fetch: recorder.fetch,
        tokenOrigins: [resource.origin],
        onRefreshError: (error) => failures.push(error),
      }),
    );

    const first = await Promise.all(Array.from({ length: 20 }, () => client.fetch(resource.url)));
    expect(first.map((response) => response?.status)).toEqual(Array(20).fill(200));
    expect(refreshRequests(server)).toHaveLength(1);

    await server.store.setLocked(userId, true);
    const fetches = Array.from({ length: 20 }, () => client.fetch(resource.url));
    const refreshes = Array.from({ length: 5 }, () => client.trpc.token.refresh.query());
    const fetchResults = await settle(fetches);
    const refreshResults = await settle(refreshes);

    expect(refreshRequests(server).map((request) => request.status)).toEqual([200, 403]);
    expect(failures).toHaveLength(1);
    const locked = failures[0] as TokenRefreshError;
    expect(locked).toBeInstanceOf(TokenRefreshError);
    expect(locked.kind).toBe('user_locked');
    expect(locked.status).toBe(403);
    expect(locked.reason).toBe('ERR_USER_LOCKED');
    expect(locked.terminal).toBe(true);
    expect(locked.message).toBe('token refresh failed with status 403: User is locked');

    for (const result of fetchResults) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toBe(locked);
    }
    for (const result of refreshResults) {
      const error = (result as PromiseRejectedResult).reason;
      expect(error).toBeInstanceOf(TRPCClientError);
      expect(error.cause).toBe(locked);
      expect(error.data?.httpStatus).toBe(403);
      expect(error.data?.kind).toBe('user_locked');
    }
    expect(client.session.failure).toBe(locked);

    const sentBefore = recorder.requests.length;
    const loggedBefore = loggedRequests(server).length;
    const resourceBefore = resource.requests.length;
    const later = await settle<unknown>([
      client.fetch(resource.url),
      client.refresh(),
      client.trpc.token.refresh.query(),
    ]);
    for (const result of later) expect(result.status).toBe('rejected');
    expect((later[0] as PromiseRejectedResult).reason).toBe(locked);
    expect((later[1] as PromiseRejectedResult).reason).toBe(locked);
    expect((later[2] as PromiseRejectedResult).reason.cause).toBe(locked);
    expect(recorder.requests).toHaveLength(sentBefore);
    expect(loggedRequests(server)).toHaveLength(loggedBefore);
    expect(resource.requests).toHaveLength(resourceBefore);
    expect(failures).toHaveLength(1);
  });

  it('tells a locked user apart from an invalid token', async () => {
    const { server, resource, userId, token } = await startWithShortLivedTokens();
    const client = servers.closeAfterTest(
      createTdbClient({ baseUrl: server.url, token, tokenOrigins: [resource.origin] }),
    );

    await server.store.removeUser(userId);
    const error = await client.fetch(resource.url).catch((reason: unknown) => reason);

    expect(error).toBeInstanceOf(TokenRefreshError);
    expect((error as TokenRefreshError).kind).toBe('invalid_token');
    expect((error as TokenRefreshError).status).toBe(401);
    expect((error as TokenRefreshError).reason).toBe('ERR_USER_NOT_FOUND');
    expect((error as TokenRefreshError).terminal).toBe(true);
    expect(resource.requests).toHaveLength(0);
  });

  it('works again after setToken', async () => {
    const { server, resource, userId, token } = await startWithShortLivedTokens();
    const client = servers.closeAfterTest(
      createTdbClient({ baseUrl: server.url, token, tokenOrigins: [resource.origin] }),
    );

    await server.store.setLocked(userId, true);
    await expect(client.fetch(resource.url)).rejects.toBeInstanceOf(TokenRefreshError);

    await server.store.setLocked(userId, false);
    client.setToken(await server.issueToken(userId));
    const response = await client.fetch(resource.url);

    expect(response.status).toBe(200);
    expect(client.session.failure).toBeUndefined();
  });
});
