import { setTimeout as sleep } from 'node:timers/promises';

import { describe, expect, it } from 'vitest';

import type { TestServer } from '../../../apps/server/test/support/test-server.js';
import { createTdbClient, readTokenTimes } from '../src/index.js';
import { issueTokenExpiringIn, skewedNow } from './support/live-clock.js';
import { setupLiveServers } from './support/live-servers.js';
import { loggedRequests, refreshRequests } from './support/server-requests.js';

/** Short enough that a client 10 minutes ahead would see every new token as already expired. */
const LIFETIME_SECONDS = 300;
const SKEW_SECONDS = 600;

const servers = setupLiveServers();

/** Starts a server on real time with no leeway, so it rejects a token the second it expires. */
function start() {
  return servers.start({ env: { TOKEN_LIFETIME: String(LIFETIME_SECONDS), JWT_LEEWAY: '0' } });
}

function noRejections(server: TestServer) {
  return loggedRequests(server).filter((request) => request.status >= 400);
}

describe('client clock 10 minutes behind the server', () => {
  it('still refreshes the token before it expires', async () => {
    const { server, resource, clock, userId } = await start();
    const firstToken = await issueTokenExpiringIn(server, clock, userId, 3);
    const firstExpiry = readTokenTimes(firstToken).expires;
    const client = servers.closeAfterTest(
      createTdbClient({
        baseUrl: server.url,
        token: firstToken,
        now: skewedNow(-SKEW_SECONDS),
        tokenOrigins: [resource.origin],
      }),
    );

    // By its own clock the client has 10 minutes left. The Date header of this first response
    // corrects that.
    expect((await client.fetch(resource.url)).status).toBe(200);
    expect(client.session.clockOffsetMs).toBeGreaterThanOrEqual(SKEW_SECONDS * 1000 - 1000);
    expect(client.session.clockOffsetMs).toBeLessThanOrEqual(SKEW_SECONDS * 1000 + 2000);

    expect((await client.fetch(resource.url)).status).toBe(200);
    expect(refreshRequests(server)).toEqual([
      { method: 'GET', path: '/trpc/token.refresh', status: 200 },
    ]);

    const wait = firstExpiry * 1000 + 500 - Date.now();
    await sleep(Math.max(wait, 0));
    expect((await client.fetch(resource.url)).status).toBe(200);

    expect(resource.requests.map((request) => request.status)).toEqual([200, 200, 200]);
    expect(resource.requests[2]?.atSeconds).toBeGreaterThan(firstExpiry);
    expect(resource.requests[2]?.token).toBe(client.token);
    expect(noRejections(server)).toEqual([]);
  });
});

describe('client clock 10 minutes ahead of the server', () => {
  it('refreshes once and then trusts the new token', async () => {
    const { server, resource, clock, userId } = await start();
    const firstToken = await issueTokenExpiringIn(server, clock, userId, 5);
    const client = servers.closeAfterTest(
      createTdbClient({
        baseUrl: server.url,
        token: firstToken,
        now: skewedNow(SKEW_SECONDS),
        tokenOrigins: [resource.origin],
      }),
    );

    for (let call = 0; call < 6; call += 1) {
      expect((await client.fetch(resource.url)).status).toBe(200);
    }

    // Without the server's clock every 300 s token would look 5 minutes expired to this client.
    expect(refreshRequests(server)).toHaveLength(1);
    expect(client.session.clockOffsetMs).toBeLessThanOrEqual(-SKEW_SECONDS * 1000 + 2000);
    expect(resource.requests.map((request) => request.status)).toEqual(Array(6).fill(200));
    expect(noRejections(server)).toEqual([]);
  });

  it('keeps a background refresh on time', async () => {
    const { server, clock, userId } = await start();
    const firstToken = await issueTokenExpiringIn(server, clock, userId, 4);
    const issued: number[] = [];
    servers.closeAfterTest(
      createTdbClient({
        baseUrl: server.url,
        token: firstToken,
        now: skewedNow(SKEW_SECONDS),
        backgroundRefresh: true,
        onToken: ({ expires }) => issued.push(expires),
      }),
    );

    await expect.poll(() => issued.length, { timeout: 4000 }).toBeGreaterThanOrEqual(1);
    await sleep(1500);

    expect(issued).toHaveLength(1);
    expect(refreshRequests(server)).toEqual([
      { method: 'GET', path: '/trpc/token.refresh', status: 200 },
    ]);
  });
});
