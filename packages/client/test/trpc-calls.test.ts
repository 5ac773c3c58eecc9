import type { AppRouter } from '@tdb/server';
import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';

import { createTdbClient } from '../src/index.js';
import { setupLiveServers } from './support/live-servers.js';
import { recordingFetch } from './support/recording-fetch.js';
import { refreshRequests } from './support/server-requests.js';

const LIFETIME_SECONDS = 3600;

const servers = setupLiveServers();

describe('tRPC calls', () => {
  it('refresh a token given as input alone', async () => {
    const { server, userId } = await servers.startTokenServer();
    const ownToken = await server.issueToken(userId);
    const otherToken = await server.issueToken(userId);
    const recorder = recordingFetch();
    const client = servers.closeAfterTest(
      createTdbClient({ baseUrl: server.url, token: ownToken, fetch: recorder.fetch }),
    );

    const result = await client.trpc.token.refresh.query({ token: otherToken });

    expect(result.token).not.toBe(otherToken);
    expect(client.token).toBe(ownToken);
    expect(recorder.requests).toEqual([{ path: '/trpc/token.refresh', token: undefined }]);
    expect(refreshRequests(server)).toEqual([
      { method: 'GET', path: '/trpc/token.refresh', status: 200 },
    ]);
  });

  it('send other procedures with a fresh token', async () => {
    const { server, clock, userId } = await servers.startTokenServer();
    clock.shiftMs = -(LIFETIME_SECONDS - 20) * 1000;
    const expiring = await server.issueToken(userId);
    clock.shiftMs = 0;
    const recorder = recordingFetch();
    const client = servers.closeAfterTest(
      createTdbClient({ baseUrl: server.url, token: expiring, fetch: recorder.fetch }),
    );

    // A procedure the router does not have yet represents any later one, because the call
    // goes through the same link as every procedure but `token.refresh`.
    const untyped = client.trpc as unknown as {
      items: { list: { query: () => Promise<unknown> } };
    };
    const error = await untyped.items.list.query().catch((reason: unknown) => reason);

    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<AppRouter>).data?.httpStatus).toBe(404);
    expect(recorder.requests.map((request) => request.path)).toEqual([
      '/trpc/token.refresh',
      '/trpc/items.list',
    ]);
    expect(recorder.requests[0]?.token).toBe(expiring);
    expect(recorder.requests[1]?.token).toBe(client.token);
    expect(client.token).not.toBe(expiring);
  });
});
