import { setTimeout as sleep } from 'node:timers/promises';

import { describe, expect, it } from 'vitest';

import { createTdbClient } from '../src/index.js';
import { issueTokenExpiringIn } from './support/live-clock.js';
import { setupLiveServers } from './support/live-servers.js';
import { recordingFetch } from './support/recording-fetch.js';
import { refreshRequests } from './support/server-requests.js';

const LIFETIME_SECONDS = 3600;

const servers = setupLiveServers();

function start() {
  return servers.start({
    env: { TOKEN_LIFETIME: String(LIFETIME_SECONDS) },
    user: { scopes: ['read'] },
  });
}

describe('concurrent calls with an expiring token', () => {
  it('share one refresh and all succeed', async () => {
    const { server, resource, clock, userId } = await start();
    const oldToken = await issueTokenExpiringIn(server, clock, userId, 20);
    const recorder = recordingFetch();
    const client = servers.closeAfterTest(
      createTdbClient({
        baseUrl: server.url,
        token: oldToken,
        fetch: recorder.fetch,
        tokenOrigins: [resource.origin],
      }),
    );

    const responses = await Promise.all(
      Array.from({ length: 20 }, () => client.fetch(resource.url)),
    );

    expect(responses.map((response) => response?.status)).toEqual(Array(20).fill(200));
    expect(refreshRequests(server)).toEqual([
      { method: 'GET', path: '/trpc/token.refresh', status: 200 },
    ]);
    expect(client.token).not.toBe(oldToken);
    expect(resource.requests).toHaveLength(20);
    for (const request of resource.requests) expect(request.token).toBe(client.token);
  });

  it('share one refresh across tRPC and fetch', async () => {
    const { server, resource, clock, userId } = await start();
    const oldToken = await issueTokenExpiringIn(server, clock, userId, 20);
    const issued: string[] = [];
    const client = servers.closeAfterTest(
      createTdbClient({
        baseUrl: server.url,
        token: oldToken,
        tokenOrigins: [resource.origin],
        onToken: ({ token }) => issued.push(token),
      }),
    );

    const refreshes = Array.from({ length: 10 }, () => client.trpc.token.refresh.query());
    const calls = Array.from({ length: 10 }, () => client.fetch(resource.url));
    const results = await Promise.all(refreshes);
    const responses = await Promise.all(calls);

    expect(refreshRequests(server)).toHaveLength(1);
    expect(issued).toEqual([client.token]);
    for (const result of results)
      expect(result).toEqual({ token: client.token, expires: client.expires });
    expect(responses.map((response) => response?.status)).toEqual(Array(10).fill(200));
  });

  it('refresh only within the margin', async () => {
    const { server, resource, clock, userId } = await start();
    const token = await issueTokenExpiringIn(server, clock, userId, 120);
    let client = servers.closeAfterTest(
      createTdbClient({
        baseUrl: server.url,
        token,
        refreshMarginSeconds: 60,
        tokenOrigins: [resource.origin],
      }),
    );

    await client.fetch(resource.url);
    expect(refreshRequests(server)).toHaveLength(0);
    expect(client.token).toBe(token);

    client.close();
    client = servers.closeAfterTest(
      createTdbClient({
        baseUrl: server.url,
        token,
        refreshMarginSeconds: 180,
        tokenOrigins: [resource.origin],
      }),
    );
    await client.fetch(resource.url);
    expect(refreshRequests(server)).toHaveLength(1);
    expect(client.token).not.toBe(token);
  });
});

describe('background refresh', () => {
  /**
   * Starts a client with background refresh on a token that expires in 20 s. Its fetch holds
   * the refresh request until the test releases it.
   */
  async function startWithHeldRefresh(refreshMarginSeconds: number) {
    const { server, resource, clock, userId } = await start();
    const oldToken = await issueTokenExpiringIn(server, clock, userId, 20);
    const recorder = recordingFetch();
    const heldRefresh = recorder.hold('/trpc/token.refresh');
    const client = servers.closeAfterTest(
      createTdbClient({
        baseUrl: server.url,
        token: oldToken,
        fetch: recorder.fetch,
        backgroundRefresh: true,
        refreshMarginSeconds,
        tokenOrigins: [resource.origin],
      }),
    );
    return { server, resource, client, oldToken, recorder, heldRefresh };
  }

  it('lets waiting calls join its refresh', async () => {
    // Due 18 s before expiry: the timer fires about 2 s from now.
    const { server, resource, client, oldToken, heldRefresh } = await startWithHeldRefresh(18);

    await heldRefresh.seen;
    expect(resource.requests).toHaveLength(0);
    const calls = Array.from({ length: 20 }, () => client.fetch(resource.url));
    await sleep(100);
    expect(resource.requests).toHaveLength(0);
    heldRefresh.release();
    const responses = await Promise.all(calls);

    expect(responses.map((response) => response?.status)).toEqual(Array(20).fill(200));
    expect(refreshRequests(server)).toHaveLength(1);
    for (const request of resource.requests) expect(request.token).toBe(client.token);
    expect(client.token).not.toBe(oldToken);
  });

  it('joins a refresh that calls started', async () => {
    // Within the 30 s margin already: the first call refreshes, and the timer fires at its
    // minimum delay of 1 s, while that refresh is still held.
    const { server, resource, client, recorder, heldRefresh } = await startWithHeldRefresh(30);

    const calls = Array.from({ length: 20 }, () => client.fetch(resource.url));
    await heldRefresh.seen;
    await sleep(1500);
    heldRefresh.release();
    const responses = await Promise.all(calls);
    await sleep(100);

    expect(responses.map((response) => response?.status)).toEqual(Array(20).fill(200));
    expect(
      recorder.requests.filter((request) => request.path === '/trpc/token.refresh'),
    ).toHaveLength(1);
    expect(refreshRequests(server)).toHaveLength(1);
  });

  it('refreshes ahead of expiry without calls', async () => {
    const { server, clock, userId } = await start();
    const oldToken = await issueTokenExpiringIn(server, clock, userId, 20);
    const issued: number[] = [];
    const client = servers.closeAfterTest(
      createTdbClient({
        baseUrl: server.url,
        token: oldToken,
        backgroundRefresh: true,
        refreshMarginSeconds: 19,
        onToken: ({ expires }) => issued.push(expires),
      }),
    );

    await expect.poll(() => issued.length, { timeout: 5000 }).toBe(1);
    expect(refreshRequests(server)).toHaveLength(1);
    expect(client.expires).toBe(issued[0]);
    expect(client.expires).toBeGreaterThan(Date.now() / 1000 + LIFETIME_SECONDS - 60);
  });
});
