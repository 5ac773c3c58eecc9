import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { segment } from './support/craft-token.js';
import { rawRequest } from './support/raw-request.js';
import { startTestServer, type TestServer } from './support/test-server.js';
import { forgeToken, standardClaims, transports } from './support/transports.js';

let server: TestServer;
let userId: string;

beforeAll(async () => {
  server = await startTestServer();
  userId = (await server.addUser()).id;
});

afterAll(async () => {
  await server.close();
});

function validToken(): string {
  return forgeToken(server, standardClaims(server, userId));
}

const badTokens: [string, () => string][] = [
  [
    'alg none',
    () => `${segment({ alg: 'none', typ: 'JWT' })}.${segment(standardClaims(server, userId))}.`,
  ],
  ['alg HS512', () => forgeToken(server, standardClaims(server, userId), { alg: 'HS512' })],
  [
    'an unknown crit entry',
    () => forgeToken(server, standardClaims(server, userId), { crit: ['urn:example'] }),
  ],
  [
    '"=" padding in a segment',
    () => {
      const [header, payload, signature] = validToken().split('.');
      return `${header}=.${payload}.${signature}`;
    },
  ],
  [
    '"+" in a segment',
    () => {
      const [header, payload, signature] = validToken().split('.');
      return `${header}.${payload}.${signature?.replace(/[-_]/g, '+') ?? ''}+`;
    },
  ],
  ['two segments', () => validToken().split('.').slice(0, 2).join('.')],
  ['four segments', () => `${validToken()}.${segment('extra')}`],
  ['a 9,000-character token', () => `${validToken()}${'A'.repeat(9000)}`.slice(0, 9000)],
  [
    'a header that is not JSON',
    () => `${segment('not json')}.${validToken().split('.').slice(1).join('.')}`,
  ],
  [
    'a payload that is an array',
    () => forgeToken(server, [1, 2, 3] as unknown as Record<string, unknown>),
  ],
];

describe.each(transports)('bad tokens over %s', (_transport, call) => {
  it.each(badTokens)('answers %s with 401, never 5xx', async (_case, makeToken) => {
    const result = await call(server, { bearer: makeToken() });

    expect(result.status).toBe(401);
    expect(result.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});

describe('oversized requests', () => {
  it('answers a 70 KB header with a 4xx, not 5xx, and stays up', async () => {
    const response = await rawRequest(`${server.url}/v1/token`, [
      'Authorization',
      `Bearer ${'a'.repeat(70_000)}`,
    ]);

    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);

    const after = await fetch(`${server.url}/v1/token`, {
      headers: { authorization: `Bearer ${validToken()}` },
    });
    expect(after.status).toBe(201);
  });

  it('answers a 70 KB query token with a 4xx, not 5xx', async () => {
    const response = await fetch(`${server.url}/v1/token?token=${'a'.repeat(70_000)}`);

    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
  });
});
