import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { calculateJwkThumbprint, exportJWK, importJWK, type JWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generateSigningKey } from '../../src/keys/generate-key.js';
import { startTestServer, TEST_SECRET, type TestServer } from '../support/test-server.js';
import { refresh, send } from './security-support.js';

/** JWK members that hold private or secret key material (RFC 7518 section 6). */
const privateMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

let folder: string;

beforeAll(() => {
  folder = mkdtempSync(path.join(tmpdir(), 'tdb-jwks-'));
});

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

async function fetchJwks(server: TestServer) {
  const response = await send(`${server.url}/.well-known/jwks.json`);
  return { response, jwks: JSON.parse(response.body) as { keys: JWK[] } };
}

function expectNoPrivateMember(text: string, keys: JWK[]) {
  for (const key of keys) {
    for (const member of privateMembers) expect(key).not.toHaveProperty(member);
  }
  for (const member of privateMembers) expect(text).not.toContain(`"${member}":`);
}

describe('JWKS', () => {
  it('publishes an empty set for an HS256 server', async () => {
    await using server = await startTestServer();

    const { response, jwks } = await fetchJwks(server);

    expect(response.status).toBe(200);
    expect(jwks).toEqual({ keys: [] });
    expect(response.body).not.toContain(TEST_SECRET);
    expect(response.body).not.toContain(Buffer.from(TEST_SECRET).toString('base64url'));
  });

  it('is cacheable for a short time only', async () => {
    await using server = await startTestServer();

    const { response } = await fetchJwks(server);

    expect(response.headers['content-type']).toMatch(/^application\/jwk-set\+json/);
    const cacheControl = String(response.headers['cache-control']);
    expect(cacheControl).toMatch(/\bpublic\b/);
    const maxAge = Number(/max-age=(\d+)/.exec(cacheControl)?.[1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(600);
  });

  it.each(['ES256', 'EdDSA', 'RS256'] as const)(
    'publishes the public %s signing key and nothing private',
    async (alg) => {
      const pem = generateSigningKey(alg);
      const expected = await exportJWK(createPublicKey(pem));
      await using server = await startTestServer({ env: { JWT_SIGNING_KEY: pem } });

      const { response, jwks } = await fetchJwks(server);

      expect(jwks.keys).toHaveLength(1);
      const [key] = jwks.keys as [JWK];
      expect(key).toEqual({
        ...expected,
        kid: await calculateJwkThumbprint(expected),
        alg,
        use: 'sig',
      });
      expectNoPrivateMember(response.body, jwks.keys);
    },
  );

  it('verifies a refreshed token with the published key alone', async () => {
    await using server = await startTestServer({
      env: { JWT_SIGNING_KEY: generateSigningKey('ES256') },
    });
    const user = await server.addUser();
    const result = await refresh(server, 'REST', `Bearer ${await server.issueToken(user.id)}`);
    const { jwks } = await fetchJwks(server);

    const published = await importJWK(jwks.keys[0] as JWK, 'ES256');
    const { payload } = await jwtVerify(result.body?.['token'] as string, published, {
      issuer: server.config.issuer,
      audience: server.config.audience,
      currentDate: new Date(server.clock.now()),
    });

    expect(payload.sub).toBe(user.id);
  });

  it('publishes retired verification keys without their private members or HMAC secrets', async () => {
    const retiredPrivate = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const retiredRsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const retiredSecret = Buffer.from('a-retired-hmac-secret-of-32-bytes-or-more');
    const file = path.join(folder, 'retired.jwks.json');
    writeFileSync(
      file,
      JSON.stringify({
        keys: [
          retiredPrivate.export({ format: 'jwk' }),
          retiredRsa.export({ format: 'jwk' }),
          { kty: 'oct', k: retiredSecret.toString('base64url') },
        ],
      }),
    );
    const signing = generateSigningKey('EdDSA');
    await using server = await startTestServer({
      env: { JWT_SIGNING_KEY: signing, JWT_VERIFY_KEYS_FILE: file },
    });

    const { response, jwks } = await fetchJwks(server);

    const kids = await Promise.all([
      calculateJwkThumbprint(await exportJWK(createPublicKey(signing))),
      calculateJwkThumbprint(await exportJWK(createPublicKey(retiredPrivate))),
      calculateJwkThumbprint(await exportJWK(retiredRsa)),
    ]);
    expect(jwks.keys.map((key) => key.kid)).toEqual(kids);
    expect(jwks.keys.map((key) => key.alg)).toEqual(['EdDSA', 'ES256', 'RS256']);
    expectNoPrivateMember(response.body, jwks.keys);
    expect(response.body).not.toContain(retiredSecret.toString('base64url'));
    expect(server.keys.verification.size).toBe(4);
  });
});
