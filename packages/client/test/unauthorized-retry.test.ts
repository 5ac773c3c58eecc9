import { describe, expect, it } from 'vitest';

import { createTdbClient, TokenRefreshError } from '../src/index.js';
import { setupLiveServers } from './support/live-servers.js';
import { refreshRequests } from './support/server-requests.js';

const servers = setupLiveServers();

async function start() {
  const { server, resource, userId } = await servers.start();
  const token = await server.issueToken(userId);
  const client = servers.closeAfterTest(
    createTdbClient({ baseUrl: server.url, token, tokenOrigins: [resource.origin] }),
  );
  return { server, resource, userId, token, client };
}

describe('a call answered with 401', () => {
  it('retries once with the newer token', async () => {
    const { server, resource, token, client } = await start();
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
    const { server, resource, token, client } = await start();
    resource.rejectAll = true;

    const response = await client.fetch(resource.url);

    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: 'token rejected' });
    expect(resource.requests.map((request) => request.token)).toEqual([token, client.token]);
    expect(client.token).not.toBe(token);
    expect(refreshRequests(server)).toHaveLength(1);
  });

  it('shares one refresh among concurrent rejections', async () => {
    const { server, resource, token, client } = await start();
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
    const { server, resource, userId, client } = await start();
    resource.rejectAll = true;
    await server.store.setLocked(userId, true);

    const error = await client.fetch(resource.url).catch((reason: unknown) => reason);

    expect(error).toBeInstanceOf(TokenRefreshError);
    expect((error as TokenRefreshError).kind).toBe('user_locked');
    expect(resource.requests).toHaveLength(1);
    expect(refreshRequests(server).map((request) => request.status)).toEqual([403]);
  });

  it('resends a request body on the retry', async () => {
    const { resource, token, client } = await start();
    resource.rejectedTokens.add(token);

    const response = await client.fetch(resource.url, { method: 'POST', body: 'payload' });

    expect(response.status).toBe(200);
    expect(resource.requests.map((request) => request.body)).toEqual(['payload', 'payload']);
  });
});

describe('the authenticated fetch', () => {
  it('refuses to send the token to another origin', async () => {
    const { server, client } = await start();

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
