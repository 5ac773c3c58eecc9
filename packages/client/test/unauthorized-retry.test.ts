import { afterEach, describe, expect, it } from 'vitest';

import { startTestServer, type TestServer } from '../../../apps/server/test/support/test-server.js';
import { createTdbClient, type TdbClient, TokenRefreshError } from '../src/index.js';
import { liveClock } from './support/live-clock.js';
import { type ResourceServer, startResourceServer } from './support/resource-server.js';
import { refreshRequests } from './support/server-requests.js';

let server: TestServer;
let resource: ResourceServer;
let client: TdbClient | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  await resource?.close();
  await server?.close();
});

async function start() {
  server = await startTestServer({ clock: liveClock() });
  resource = await startResourceServer(server);
  const user = await server.addUser();
  const token = await server.issueToken(user.id);
  client = createTdbClient({ baseUrl: server.url, token, tokenOrigins: [resource.origin] });
  return { userId: user.id, token, client };
}

describe('a call answered with 401', () => {
  it('retries once with the newer token', async () => {
    const { token, client } = await start();
    resource.rejectedTokens.add(token);
    let release!: () => void;
    resource.hold = new Promise((resolve) => {
      release = resolve;
    });

    const call = client.fetch(resource.url);
    await expect.poll(() => resource.requests.length).toBe(1);
    const refreshed = await client.refresh();
    resource.hold = undefined;
    release();
    const response = await call;

    expect(response.status).toBe(200);
    expect(resource.requests.map((request) => request.token)).toEqual([token, refreshed.token]);
    expect(resource.requests.map((request) => request.status)).toEqual([401, 200]);
    expect(refreshRequests(server)).toHaveLength(1);
  });

  it('refreshes once, retries once, then returns 401', async () => {
    const { token, client } = await start();
    resource.rejectAll = true;

    const response = await client.fetch(resource.url);

    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: 'token rejected' });
    expect(resource.requests.map((request) => request.token)).toEqual([token, client.token]);
    expect(client.token).not.toBe(token);
    expect(refreshRequests(server)).toHaveLength(1);
  });

  it('shares one refresh among concurrent rejections', async () => {
    const { token, client } = await start();
    resource.rejectedTokens.add(token);

    const responses = await Promise.all(
      Array.from({ length: 20 }, () => client.fetch(resource.url)),
    );

    expect(responses.map((response) => response.status)).toEqual(Array(20).fill(200));
    expect(refreshRequests(server)).toHaveLength(1);
    const retries = resource.requests.filter((request) => request.token !== token);
    expect(retries).toHaveLength(20);
    for (const retry of retries) expect(retry.token).toBe(client.token);
  });

  it('rejects without retry when refresh fails', async () => {
    const { userId, client } = await start();
    resource.rejectAll = true;
    await server.store.setLocked(userId, true);

    const error = await client.fetch(resource.url).catch((reason: unknown) => reason);

    expect(error).toBeInstanceOf(TokenRefreshError);
    expect((error as TokenRefreshError).kind).toBe('user_locked');
    expect(resource.requests).toHaveLength(1);
    expect(refreshRequests(server).map((request) => request.status)).toEqual([403]);
  });

  it('resends a request body on the retry', async () => {
    const { token, client } = await start();
    resource.rejectedTokens.add(token);

    const response = await client.fetch(resource.url, { method: 'POST', body: 'payload' });

    expect(response.status).toBe(200);
    expect(resource.requests.map((request) => request.body)).toEqual(['payload', 'payload']);
  });
});

describe('the authenticated fetch', () => {
  it('refuses to send the token to another origin', async () => {
    const { client } = await start();

    await expect(client.fetch('http://127.0.0.1:9/elsewhere')).rejects.toThrow(
      'refusing to send the token to http://127.0.0.1:9',
    );
    expect(refreshRequests(server)).toHaveLength(0);
  });

  it('resolves a relative path against the base URL', async () => {
    const { client } = await start();

    const response = await client.fetch('/healthz');

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });
});
