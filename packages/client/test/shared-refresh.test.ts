import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, describe, expect, it } from 'vitest';

import { startTestServer, type TestServer } from '../../../apps/server/test/support/test-server.js';
import { createTdbClient, type TdbClient } from '../src/index.js';
import { issueTokenExpiringIn, type LiveClock, liveClock } from './support/live-clock.js';
import { recordingFetch } from './support/recording-fetch.js';
import { type ResourceServer, startResourceServer } from './support/resource-server.js';
import { refreshRequests } from './support/server-requests.js';

const LIFETIME_SECONDS = 3600;

let server: TestServer;
let resource: ResourceServer;
let client: TdbClient | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  await resource?.close();
  await server?.close();
});

async function start(): Promise<{ clock: LiveClock; userId: string }> {
  const clock = liveClock();
  server = await startTestServer({ clock, env: { TOKEN_LIFETIME: String(LIFETIME_SECONDS) } });
  resource = await startResourceServer(server);
  const user = await server.addUser({ scopes: ['read'] });
  return { clock, userId: user.id };
}

describe('concurrent calls with an expiring token', () => {
  it('share one refresh and all succeed', async () => {
    const { clock, userId } = await start();
    const oldToken = await issueTokenExpiringIn(server, clock, userId, 20);
    const recorder = recordingFetch();
    client = createTdbClient({
      baseUrl: server.url,
      token: oldToken,
      fetch: recorder.fetch,
      tokenOrigins: [resource.origin],
    });

    const responses = await Promise.all(
      Array.from({ length: 20 }, () => client?.fetch(resource.url)),
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
    const { clock, userId } = await start();
    const oldToken = await issueTokenExpiringIn(server, clock, userId, 20);
    const issued: string[] = [];
    client = createTdbClient({
      baseUrl: server.url,
      token: oldToken,
      tokenOrigins: [resource.origin],
      onToken: ({ token }) => issued.push(token),
    });

    const refreshes = Array.from({ length: 10 }, () => client?.trpc.token.refresh.query());
    const calls = Array.from({ length: 10 }, () => client?.fetch(resource.url));
    const results = await Promise.all(refreshes);
    const responses = await Promise.all(calls);

    expect(refreshRequests(server)).toHaveLength(1);
    expect(issued).toEqual([client.token]);
    for (const result of results)
      expect(result).toEqual({ token: client.token, expires: client.expires });
    expect(responses.map((response) => response?.status)).toEqual(Array(10).fill(200));
  });

  it('refresh only within the margin', async () => {
    const { clock, userId } = await start();
    const token = await issueTokenExpiringIn(server, clock, userId, 120);
    client = createTdbClient({
      baseUrl: server.url,
      token,
      refreshMarginSeconds: 60,
      tokenOrigins: [resource.origin],
    });

    await client.fetch(resource.url);
    expect(refreshRequests(server)).toHaveLength(0);
    expect(client.token).toBe(token);

    client.close();
    client = createTdbClient({
      baseUrl: server.url,
      token,
      refreshMarginSeconds: 180,
      tokenOrigins: [resource.origin],
    });
    await client.fetch(resource.url);
    expect(refreshRequests(server)).toHaveLength(1);
    expect(client.token).not.toBe(token);
  });
});

describe('background refresh', () => {
  it('lets waiting calls join its refresh', async () => {
    const { clock, userId } = await start();
    // Due 18 s before expiry: the timer fires about 2 s from now.
    const oldToken = await issueTokenExpiringIn(server, clock, userId, 20);
    const recorder = recordingFetch();
    const heldRefresh = recorder.hold('/trpc/token.refresh');
    client = createTdbClient({
      baseUrl: server.url,
      token: oldToken,
      fetch: recorder.fetch,
      backgroundRefresh: true,
      refreshMarginSeconds: 18,
      tokenOrigins: [resource.origin],
    });

    await heldRefresh.seen;
    expect(resource.requests).toHaveLength(0);
    const calls = Array.from({ length: 20 }, () => client?.fetch(resource.url));
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
    const { clock, userId } = await start();
    // Within the 30 s margin already: the first call refreshes, and the timer fires at its
    // minimum delay of 1 s, while that refresh is still held.
    const oldToken = await issueTokenExpiringIn(server, clock, userId, 20);
    const recorder = recordingFetch();
    const heldRefresh = recorder.hold('/trpc/token.refresh');
    client = createTdbClient({
      baseUrl: server.url,
      token: oldToken,
      fetch: recorder.fetch,
      backgroundRefresh: true,
      refreshMarginSeconds: 30,
      tokenOrigins: [resource.origin],
    });

    const calls = Array.from({ length: 20 }, () => client?.fetch(resource.url));
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
    const { clock, userId } = await start();
    const oldToken = await issueTokenExpiringIn(server, clock, userId, 20);
    const issued: number[] = [];
    client = createTdbClient({
      baseUrl: server.url,
      token: oldToken,
      backgroundRefresh: true,
      refreshMarginSeconds: 19,
      onToken: ({ expires }) => issued.push(expires),
    });

    await expect.poll(() => issued.length, { timeout: 5000 }).toBe(1);
    expect(refreshRequests(server)).toHaveLength(1);
    expect(client.expires).toBe(issued[0]);
    expect(client.expires).toBeGreaterThan(Date.now() / 1000 + LIFETIME_SECONDS - 60);
  });
});
