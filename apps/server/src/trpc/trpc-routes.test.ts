import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { TRPCError } from '@trpc/server';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { frozenClock } from '../../test/support/clock.js';
import { rawRequest } from '../../test/support/raw-request.js';
import { TEST_SECRET } from '../../test/support/test-server.js';
import { loadConfig } from '../config.js';
import { authorizationHeaders } from '../http/credentials.js';
import { bearerChallenge, toHttpFailure } from '../http/rest-errors.js';
import { loadKeyRing } from '../keys/key-ring.js';
import type { RefreshDependencies } from '../refresh/refresh-token.js';
import { openSqliteUserStore } from '../store/sqlite-user-store.js';
import type { UserStore } from '../store/user-store.js';
import { createTokenSigner } from '../tokens/sign-token.js';
import type { Context } from './context.js';
import { appRouter } from './router.js';
import { registerTrpcRoutes } from './trpc-routes.js';

// The same router is served twice: under /direct with token.refresh on the direct path, and
// under /adapter through @trpc/server's Fastify adapter only. Every request must get the same
// response from both, apart from the fresh `jti` in a new token and the transfer encoding.

const clock = frozenClock();
let app: FastifyInstance;
let store: UserStore;
let dataDir: string;
let baseUrl: string;
let token: string;
let lockedToken: string;
const failures: string[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'tdb-trpc-routes-'));
  const config = loadConfig({ DATA_DIR: dataDir, JWT_SIGNING_KEY: TEST_SECRET });
  store = openSqliteUserStore(path.join(dataDir, 'tdb.sqlite'));
  const keys = await loadKeyRing(config);
  const signer = createTokenSigner(keys.signing);
  const services: RefreshDependencies = {
    keys,
    store,
    signer,
    rules: { issuer: config.issuer, audience: config.audience, leewaySeconds: 30, graceSeconds: 0 },
    issuer: config.issuer,
    audience: config.audience,
    lifetimeSeconds: 3600,
    now: clock.now,
  };

  const issue = async (userId: string) =>
    (
      await signer({
        sub: userId,
        scope: ['read'],
        issuer: config.issuer,
        audience: config.audience,
        iat: clock.seconds(),
        lifetimeSeconds: 3600,
      })
    ).token;
  token = await issue((await store.addUser({ scopes: ['read'] })).id);
  lockedToken = await issue((await store.addUser({ locked: true })).id);

  app = Fastify();
  for (const [prefix, directQueries] of [
    ['/direct', ['token.refresh']],
    ['/adapter', []],
  ] as const) {
    await registerTrpcRoutes(app, {
      prefix,
      router: appRouter,
      directQueries,
      createContext: (request: FastifyRequest): Context => {
        if (request.headers['x-test-reject'] !== undefined) {
          throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: 'rejected by the test' });
        }
        return {
          credentials: { authorization: authorizationHeaders(request.raw.rawHeaders), tokens: [] },
          services,
        };
      },
      responseHeaders(errors) {
        const headers: Record<string, string> = { 'cache-control': 'no-store' };
        const challenge =
          errors[0] === undefined ? undefined : bearerChallenge(toHttpFailure(errors[0]));
        if (challenge !== undefined) headers['www-authenticate'] = challenge;
        return headers;
      },
      onError(error, request) {
        failures.push(`${request.url.split('/')[1]} ${error.code}`);
      },
    });
  }
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  baseUrl = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await app.close();
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const input = (value: unknown) => `?input=${encodeURIComponent(JSON.stringify(value))}`;

interface Case {
  name: string;
  query?: () => string;
  headers?: () => string[];
  status: number;
}

const cases: Case[] = [
  {
    name: 'a valid Bearer token',
    headers: () => ['Authorization', `Bearer ${token}`],
    status: 200,
  },
  { name: 'a valid token as input', query: () => input({ token }), status: 200 },
  {
    name: 'an empty input',
    query: () => '?input=',
    headers: () => ['Authorization', `Bearer ${token}`],
    status: 200,
  },
  { name: 'no token', status: 401 },
  { name: 'a malformed token', headers: () => ['Authorization', 'Bearer abc'], status: 401 },
  { name: 'a locked user', headers: () => ['Authorization', `Bearer ${lockedToken}`], status: 403 },
  {
    name: 'a token in both header and input',
    query: () => input({ token }),
    headers: () => ['Authorization', `Bearer ${token}`],
    status: 400,
  },
  { name: 'an input of the wrong type', query: () => input({ token: 5 }), status: 400 },
  { name: 'a context that fails', headers: () => ['X-Test-Reject', '1'], status: 429 },
];

/** Replaces the new token, whose `jti` is fresh on every call, after checking its form. */
function comparableBody(body: string): unknown {
  const json = JSON.parse(body) as { result?: { data?: { token?: string } } };
  const data = json.result?.data;
  if (data?.token !== undefined) {
    expect(data.token.split('.')).toHaveLength(3);
    data.token = '<token>';
  }
  return json;
}

describe('tRPC direct query path', () => {
  for (const testCase of cases) {
    it(`responds to ${testCase.name} like the adapter`, async () => {
      const query = testCase.query?.() ?? '';
      const headers = testCase.headers?.() ?? [];
      const direct = await rawRequest(`${baseUrl}/direct/token.refresh${query}`, headers);
      const adapter = await rawRequest(`${baseUrl}/adapter/token.refresh${query}`, headers);

      expect(direct.status).toBe(testCase.status);
      expect(adapter.status).toBe(testCase.status);
      for (const name of ['content-type', 'vary', 'cache-control', 'www-authenticate', 'allow']) {
        expect(direct.headers[name], name).toEqual(adapter.headers[name]);
      }
      expect(comparableBody(direct.body)).toEqual(comparableBody(adapter.body));
      // The adapter streams its body in chunks, and the direct path sends it in one piece.
      expect(adapter.headers['transfer-encoding']).toBe('chunked');
      expect(direct.headers['content-length']).toBe(String(Buffer.byteLength(direct.body)));
    });
  }

  it('reports each failure once on either path', () => {
    const direct = failures.filter((line) => line.startsWith('direct '));
    const adapter = failures.filter((line) => line.startsWith('adapter '));
    expect(direct.map((line) => line.slice('direct '.length))).toEqual(
      adapter.map((line) => line.slice('adapter '.length)),
    );
    expect(direct).toHaveLength(cases.filter((testCase) => testCase.status !== 200).length);
  });

  it('leaves batches to the adapter', async () => {
    const headers = ['Authorization', `Bearer ${token}`];
    const response = await rawRequest(
      `${baseUrl}/direct/token.refresh?batch=1&input=%7B%7D`,
      headers,
    );
    expect(response.status).toBe(200);
    expect(response.headers['transfer-encoding']).toBe('chunked');
    const body = JSON.parse(response.body) as Array<{ result: { data: { token: string } } }>;
    expect(body[0]?.result.data.token.split('.')).toHaveLength(3);
  });
});
