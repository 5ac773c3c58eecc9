import { afterEach, describe, expect, it } from 'vitest';

import { ConfigError, loadConfig } from '../../src/config.js';
import { clientKey } from '../../src/http/rate-limit.js';
import { createOpenApiDocument } from '../../src/openapi.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { refresh, send, type Transport, transports } from './security-support.js';

const limitEnv = { FAILED_REFRESH_LIMIT: '3', FAILED_REFRESH_WINDOW: '60' };
const badToken = 'Bearer not.a.token';

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(env: Record<string, string> = limitEnv): Promise<TestServer> {
  server = await startTestServer({ env });
  return server;
}

async function validAuthorization(target: TestServer): Promise<string> {
  const user = await target.addUser();
  return `Bearer ${await target.issueToken(user.id)}`;
}

async function failTimes(target: TestServer, transport: Transport, count: number): Promise<void> {
  for (let attempt = 0; attempt < count; attempt += 1) {
    const result = await refresh(target, transport, badToken);
    expect(result.status).toBe(401);
  }
}

function successStatus(transport: Transport): number {
  return transport === 'REST' ? 201 : 200;
}

describe.each(transports)('failed-refresh limit over %s', (transport) => {
  it('answers 429 with Retry-After once the limit is reached', async () => {
    const target = await start();
    const valid = await validAuthorization(target);
    await failTimes(target, transport, 3);

    const result = await refresh(target, transport, valid);

    expect(result.status).toBe(429);
    expect(result.headers['retry-after']).toBe('60');
    expect(result.headers['cache-control']).toBe('no-store');
    expect(result.message).toBe(
      'too many failed refreshes from this address; retry after 60 seconds',
    );
    if (transport === 'REST') {
      expect(result.body).toEqual({
        status: 'Too Many Requests',
        message: result.message,
        code: 429,
      });
    } else {
      const error = result.body?.['error'] as { data: Record<string, unknown> };
      expect(error.data['httpStatus']).toBe(429);
      expect(error.data['kind']).toBe('rate_limited');
    }
  });

  it('lowers Retry-After with time and lifts the limit when the window ends', async () => {
    const target = await start();
    const valid = await validAuthorization(target);
    await failTimes(target, transport, 3);

    target.clock.advance(45);
    const waiting = await refresh(target, transport, valid);
    expect(waiting.status).toBe(429);
    expect(waiting.headers['retry-after']).toBe('15');

    target.clock.advance(15);
    const lifted = await refresh(target, transport, valid);
    expect(lifted.status).toBe(successStatus(transport));
  });

  it('counts no successful refresh', async () => {
    const target = await start();
    const valid = await validAuthorization(target);

    for (let attempt = 0; attempt < 10; attempt += 1) {
      const result = await refresh(target, transport, valid);
      expect(result.status).toBe(successStatus(transport));
    }
    await failTimes(target, transport, 2);

    const result = await refresh(target, transport, valid);
    expect(result.status).toBe(successStatus(transport));
  });
});

describe('failed-refresh limit', () => {
  it('counts failures on both transports together', async () => {
    const target = await start();
    await failTimes(target, 'REST', 2);
    await failTimes(target, 'tRPC', 1);

    const result = await refresh(target, 'REST', await validAuthorization(target));

    expect(result.status).toBe(429);
  });

  it('counts a missing token, a repeated token and a locked user', async () => {
    const target = await start();
    const locked = await target.addUser({ locked: true });
    const lockedToken = await target.issueToken(locked.id);

    expect((await refresh(target, 'REST', undefined)).status).toBe(401);
    expect(
      (await refresh(target, 'REST', badToken, { headers: ['Authorization', badToken] })).status,
    ).toBe(400);
    expect((await refresh(target, 'REST', `Bearer ${lockedToken}`)).status).toBe(403);

    const result = await refresh(target, 'REST', await validAuthorization(target));
    expect(result.status).toBe(429);
  });

  it('counts no request to another route or method', async () => {
    const target = await start();

    for (let attempt = 0; attempt < 5; attempt += 1) {
      expect((await send(`${target.url}/v1/nothing`, ['Authorization', badToken])).status).toBe(
        404,
      );
      expect(
        (await send(`${target.url}/v1/token`, ['Authorization', badToken], 'DELETE')).status,
      ).toBe(405);
    }

    const result = await refresh(target, 'REST', await validAuthorization(target));
    expect(result.status).toBe(201);
  });

  it('limits each client address separately', async () => {
    const target = await start();
    const valid = await validAuthorization(target);
    await failTimes(target, 'REST', 3);

    const blocked = await refresh(target, 'REST', valid, { localAddress: '127.0.0.1' });
    const other = await refresh(target, 'REST', valid, { localAddress: '127.0.0.2' });

    expect(blocked.status).toBe(429);
    expect(other.status).toBe(201);
  });

  it('logs once when an address reaches the limit, without the token', async () => {
    const target = await start();
    await failTimes(target, 'REST', 3);
    expect((await refresh(target, 'REST', badToken)).status).toBe(429);
    expect((await refresh(target, 'tRPC', badToken)).status).toBe(429);

    const warnings = target.logs.filter((line) => line.includes('failed-refresh limit reached'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0] ?? '{}')).toMatchObject({
      level: 40,
      clientAddress: '127.0.0.1',
      failures: 3,
      windowSeconds: 60,
    });
    expect(target.logs.join('\n')).not.toContain('not.a.token');
  });

  it('is off with FAILED_REFRESH_LIMIT=0', async () => {
    const target = await start({ FAILED_REFRESH_LIMIT: '0' });
    await failTimes(target, 'REST', 20);

    const result = await refresh(target, 'REST', await validAuthorization(target));
    expect(result.status).toBe(201);
  });

  it('is on by default with a generous limit', async () => {
    const config = loadConfig({});
    expect(config.failedRefreshLimit).toBe(300);
    expect(config.failedRefreshWindowSeconds).toBe(300);

    const target = await start({});
    await failTimes(target, 'REST', 20);
    const result = await refresh(target, 'REST', await validAuthorization(target));
    expect(result.status).toBe(201);
  });

  it('is documented as 429 with Retry-After in the OpenAPI document', () => {
    const response = createOpenApiDocument().paths?.['/v1/token']?.get?.responses?.['429'] as
      | { description: string; headers?: Record<string, unknown> }
      | undefined;

    expect(response?.description).toMatch(/^Too Many Requests: /);
    expect(response?.headers).toHaveProperty('Retry-After');
  });
});

describe('failed-refresh limit configuration', () => {
  it.each([
    ['FAILED_REFRESH_LIMIT', '-1'],
    ['FAILED_REFRESH_LIMIT', 'many'],
    ['FAILED_REFRESH_LIMIT', '1000001'],
    ['FAILED_REFRESH_WINDOW', '0'],
    ['FAILED_REFRESH_WINDOW', '1.5'],
    ['FAILED_REFRESH_WINDOW', '86401'],
  ])('rejects %s=%s with a message naming the variable', (variable, value) => {
    let error: unknown;
    try {
      loadConfig({ [variable]: value });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toMatch(new RegExp(`^Invalid ${variable}: .+\\.$`));
    expect((error as ConfigError).message).not.toContain('\n');
  });
});

describe('client key', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ])('counts %s under %s', (address, key) => {
    expect(clientKey(address)).toBe(key);
  });
});
