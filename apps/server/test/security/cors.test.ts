import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConfigError, loadConfig } from '../../src/config.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { refresh, send, transports } from './security-support.js';

const allowedOrigin = 'https://app.example.com';
const otherAllowedOrigin = 'http://localhost:5173';
const foreignOrigin = 'https://attacker.example';
const paths = { REST: '/v1/token', tRPC: '/trpc/token.refresh' } as const;

let server: TestServer;
let closedServer: TestServer;
let authorization: string;

beforeAll(async () => {
  server = await startTestServer({
    env: {
      CORS_ORIGINS: `${allowedOrigin}, ${otherAllowedOrigin}`,
      FAILED_REFRESH_LIMIT: '2',
    },
  });
  closedServer = await startTestServer();
  const user = await server.addUser();
  authorization = `Bearer ${await server.issueToken(user.id)}`;
});

afterAll(async () => {
  await server.close();
  await closedServer.close();
});

function preflight(target: TestServer, path: string, origin: string, method = 'GET') {
  return send(
    `${target.url}${path}`,
    [
      'Origin',
      origin,
      'Access-Control-Request-Method',
      method,
      'Access-Control-Request-Headers',
      'authorization',
    ],
    'OPTIONS',
  );
}

describe.each(transports)('CORS preflight for %s', (transport) => {
  it.each([allowedOrigin, otherAllowedOrigin])(
    'allows the Authorization header from %s',
    async (origin) => {
      const response = await preflight(server, paths[transport], origin);

      expect(response.status).toBe(204);
      expect(response.headers['access-control-allow-origin']).toBe(origin);
      expect(response.headers['access-control-allow-methods']).toBe('GET');
      expect(response.headers['access-control-allow-headers']?.toString().toLowerCase()).toContain(
        'authorization',
      );
      expect(response.headers['access-control-max-age']).toBe('600');
      expect(response.headers['vary']).toContain('Origin');
      expect(response.body).toBe('');
    },
  );

  it('adds no CORS header for an origin that is not listed', async () => {
    const response = await preflight(server, paths[transport], foreignOrigin);

    expect(response.headers['access-control-allow-origin']).toBeUndefined();
    expect(response.headers['access-control-allow-headers']).toBeUndefined();
  });

  it('allows only GET when another method is requested', async () => {
    const response = await preflight(server, paths[transport], allowedOrigin, 'DELETE');

    expect(response.status).toBe(204);
    expect(response.headers['access-control-allow-methods']).toBe('GET');
  });
});

describe('CORS on refresh responses', () => {
  it.each(transports)('names the allowed origin on a %s refresh', async (transport) => {
    const result = await refresh(server, transport, authorization, {
      headers: ['Origin', allowedOrigin],
    });

    expect(result.status).toBe(transport === 'REST' ? 201 : 200);
    expect(result.headers['access-control-allow-origin']).toBe(allowedOrigin);
    expect(result.headers['vary']).toContain('Origin');
  });

  it.each(transports)('lets the page read WWW-Authenticate on a %s 401', async (transport) => {
    const result = await refresh(server, transport, 'Bearer a.b.c', {
      headers: ['Origin', allowedOrigin],
      localAddress: transport === 'REST' ? '127.0.0.3' : '127.0.0.4',
    });

    expect(result.status).toBe(401);
    expect(result.headers['access-control-allow-origin']).toBe(allowedOrigin);
    expect(result.headers['access-control-expose-headers']).toContain('WWW-Authenticate');
  });

  it('lets the page read Retry-After on a 429', async () => {
    const options = { headers: ['Origin', allowedOrigin], localAddress: '127.0.0.5' };
    await refresh(server, 'REST', 'Bearer a.b.c', options);
    await refresh(server, 'REST', 'Bearer a.b.c', options);

    const result = await refresh(server, 'REST', authorization, options);

    expect(result.status).toBe(429);
    expect(result.headers['access-control-allow-origin']).toBe(allowedOrigin);
    expect(result.headers['access-control-expose-headers']).toContain('Retry-After');
    expect(result.headers['access-control-expose-headers']).toContain('Date');
  });

  it('names no origin on a refresh from an origin that is not listed', async () => {
    const result = await refresh(server, 'REST', authorization, {
      headers: ['Origin', foreignOrigin],
    });

    expect(result.status).toBe(201);
    expect(result.headers['access-control-allow-origin']).toBeUndefined();
    expect(result.headers['vary']).toContain('Origin');
  });

  it('names the origin on the JWKS', async () => {
    const response = await send(`${server.url}/.well-known/jwks.json`, ['Origin', allowedOrigin]);

    expect(response.status).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBe(allowedOrigin);
  });
});

describe('CORS by default', () => {
  it('answers a preflight on the token path with 405 and no CORS header', async () => {
    const response = await preflight(closedServer, paths.REST, allowedOrigin);

    expect(response.status).toBe(405);
    expect(response.headers['allow']).toBe('GET');
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('names no origin on a refresh', async () => {
    const user = await closedServer.addUser();
    const token = await closedServer.issueToken(user.id);
    const result = await refresh(closedServer, 'REST', `Bearer ${token}`, {
      headers: ['Origin', allowedOrigin],
    });

    expect(result.status).toBe(201);
    expect(result.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers a preflight without Access-Control-Request-Method as a plain OPTIONS', async () => {
    const response = await send(`${server.url}${paths.REST}`, ['Origin', allowedOrigin], 'OPTIONS');

    expect(response.status).toBe(405);
  });
});

describe('CORS_ORIGINS configuration', () => {
  it('reads a comma-separated list and drops repeats', () => {
    const config = loadConfig({
      CORS_ORIGINS: `${allowedOrigin},${otherAllowedOrigin}, ${allowedOrigin}`,
    });

    expect(config.corsOrigins).toEqual([allowedOrigin, otherAllowedOrigin]);
    expect(loadConfig({}).corsOrigins).toEqual([]);
  });

  it.each([
    ['*', /"\*" is not an origin/],
    ['https://app.example.com/', /Write it as the browser sends it: https:\/\/app\.example\.com\./],
    ['https://App.Example.com', /Write it as the browser sends it: https:\/\/app\.example\.com\./],
    [
      'https://app.example.com:443',
      /Write it as the browser sends it: https:\/\/app\.example\.com\./,
    ],
    ['app.example.com', /"app\.example\.com" is not an origin/],
    ['ftp://files.example.com', /is not an origin/],
    ['null', /"null" is not an origin/],
    [`${allowedOrigin},,${otherAllowedOrigin}`, /"" is not an origin/],
  ])('rejects %s with a message naming CORS_ORIGINS', (value, message) => {
    let error: unknown;
    try {
      loadConfig({ CORS_ORIGINS: value });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('CORS_ORIGINS');
    expect((error as ConfigError).message).toMatch(/^Invalid CORS_ORIGINS: /);
    expect((error as ConfigError).message).toMatch(message);
  });
});
