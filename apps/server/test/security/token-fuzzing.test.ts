import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generateSigningKey } from '../../src/keys/generate-key.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { refresh, send, type Transport, transports } from './security-support.js';

/**
 * Runs per property and server. Each run is one request to 127.0.0.1, so the whole file stays
 * at a few thousand requests, a few seconds on two cores.
 */
const numRuns = 300;

const base64urlCharacters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Replacement characters: the base64url alphabet, plus the standard base64 ones and separators. */
const replacementCharacters = [...`${base64urlCharacters}=+/. ~%"\\\t`];

/** Characters Node's HTTP client accepts in a header value: tab, visible ASCII, space and Latin-1. */
const headerCharacter = fc.oneof(
  fc.constant('\t'),
  fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
  fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)),
);
const base64urlCharacter = fc.constantFrom(...base64urlCharacters);

const transport = fc.constantFrom(...transports);

interface FuzzTarget {
  server: TestServer;
  /** Two valid tokens for two users, whose segments the properties cut and recombine. */
  token: string;
  otherToken: string;
}

const targets = new Map<string, FuzzTarget>();

beforeAll(async () => {
  for (const alg of ['HS256', 'ES256'] as const) {
    // The limit on failed refreshes would return 429 after the first few hundred runs.
    const env: Record<string, string> = { FAILED_REFRESH_LIMIT: '0' };
    if (alg !== 'HS256') env['JWT_SIGNING_KEY'] = generateSigningKey(alg);
    const server = await startTestServer({ env });

    const user = await server.addUser({ scopes: ['read'] });
    const otherUser = await server.addUser({ scopes: ['write'] });
    targets.set(alg, {
      server,
      token: await server.issueToken(user.id),
      otherToken: await server.issueToken(otherUser.id),
    });
  }
});

afterAll(async () => {
  for (const target of targets.values()) await target.server.close();
});

function segmentsOf(token: string): [string, string, string] {
  return token.split('.') as [string, string, string];
}

/** Sends a token that must be rejected and checks the response: 401 with `error="invalid_token"`. */
async function expectRejected(target: FuzzTarget, via: Transport, token: string): Promise<void> {
  const result = await refresh(target.server, via, `Bearer ${token}`);

  expect(result.status).toBe(401);
  expect(result.headers['www-authenticate']).toContain('error="invalid_token"');
}

describe.each(['HS256', 'ES256'])('fuzzing an %s server', (alg) => {
  const target = () => targets.get(alg) as FuzzTarget;

  it('rejects a token with one character replaced in any segment', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 }),
        fc.nat(),
        fc.constantFrom(...replacementCharacters),
        transport,
        async (index, position, replacement, via) => {
          const segments = segmentsOf(target().token);
          const segment = segments[index] ?? '';
          const at = position % segment.length;
          segments[index] = `${segment.slice(0, at)}${replacement}${segment.slice(at + 1)}`;
          const mutated = segments.join('.');
          fc.pre(mutated !== target().token);

          await expectRejected(target(), via, mutated);
        },
      ),
      { numRuns },
    );
  });

  it('rejects a token with one decoded byte flipped in any segment', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        transport,
        async (index, position, mask, via) => {
          const segments = segmentsOf(target().token);
          const bytes = Buffer.from(segments[index] ?? '', 'base64url');
          const at = position % bytes.length;
          bytes[at] = (bytes[at] ?? 0) ^ mask;
          segments[index] = bytes.toString('base64url');

          await expectRejected(target(), via, segments.join('.'));
        },
      ),
      { numRuns },
    );
  });

  it('rejects a truncated token', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.boolean(), transport, async (cut, fromEnd, via) => {
        const { token } = target();
        const length = cut % token.length;
        const truncated = fromEnd ? token.slice(0, length) : token.slice(token.length - length);

        await expectRejected(target(), via, truncated);
      }),
      { numRuns },
    );
  });

  it('rejects segments swapped or spliced between two tokens', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 5 }),
        transport,
        async (picks, via) => {
          const { token, otherToken } = target();
          const pool = [...segmentsOf(token), ...segmentsOf(otherToken)];
          const spliced = picks.map((pick) => pool[pick]).join('.');
          fc.pre(spliced !== token && spliced !== otherToken);

          await expectRejected(target(), via, spliced);
        },
      ),
      { numRuns },
    );
  });

  it('rejects random Authorization values with a 4xx', async () => {
    const dottedBase64url = fc
      .array(fc.string({ unit: base64urlCharacter, maxLength: 60 }), { minLength: 1, maxLength: 4 })
      .map((parts) => `Bearer ${parts.join('.')}`);
    const authorization = fc.oneof(
      fc.string({ unit: headerCharacter, maxLength: 300 }),
      fc.string({ unit: headerCharacter, maxLength: 300 }).map((value) => `Bearer ${value}`),
      dottedBase64url,
    );

    await fc.assert(
      fc.asyncProperty(authorization, transport, async (value, via) => {
        const result = await refresh(target().server, via, value);

        expect(result.status).toBeGreaterThanOrEqual(400);
        expect(result.status).toBeLessThan(500);
      }),
      { numRuns },
    );
  });

  it('rejects random query tokens and tRPC inputs with a 4xx', async () => {
    const request = fc.oneof(
      fc
        .string({ unit: headerCharacter, maxLength: 300 })
        .map((value) => `/v1/token?token=${encodeURIComponent(value)}`),
      fc
        .jsonValue({ maxDepth: 3 })
        .map((value) => `/trpc/token.refresh?input=${encodeURIComponent(JSON.stringify(value))}`),
    );

    await fc.assert(
      fc.asyncProperty(request, async (path) => {
        const response = await send(`${target().server.url}${path}`);

        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.status).toBeLessThan(500);
      }),
      { numRuns },
    );
  });

  it('still refreshes a valid token and logged no server error', async () => {
    const { server, token } = target();

    for (const via of transports) {
      const result = await refresh(server, via, `Bearer ${token}`);
      expect(result.status).toBe(via === 'REST' ? 201 : 200);
    }
    expect((await send(`${server.url}/healthz`)).status).toBe(200);

    const errors = server.logs.filter(
      (line) => (JSON.parse(line) as { level: number }).level >= 50,
    );
    expect(errors).toEqual([]);
  });
});
