import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { calculateJwkThumbprint, exportJWK, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { generateSigningKey } from '../../src/keys/generate-key.js';
import { frozenClock } from '../support/clock.js';
import { startTestServer, TEST_SECRET, type TestServer } from '../support/test-server.js';
import {
  decodeSegment,
  expectInvalidToken,
  refresh,
  send,
  transports,
} from './security-support.js';

let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'tdb-rotation-'));
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

async function kidOf(pem: string): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(createPublicKey(pem)));
}

async function publishedKids(server: TestServer): Promise<string[]> {
  const response = await send(`${server.url}/.well-known/jwks.json`);
  return (JSON.parse(response.body) as { keys: { kid: string }[] }).keys.map((key) => key.kid);
}

async function refreshedToken(server: TestServer, token: string): Promise<string> {
  const result = await refresh(server, 'REST', `Bearer ${token}`);
  expect(result.status).toBe(201);
  return result.body?.['token'] as string;
}

describe('key rotation', () => {
  it.each([
    ['ES256', 'EdDSA', /alg "ES256" is not allowed/],
    ['ES256', 'ES256', /"kid" names no known key/],
  ] as const)(
    'moves from an %s key to an %s key across restarts',
    async (oldAlg, newAlg, removedMessage) => {
      const clock = frozenClock();
      const oldKey = generateSigningKey(oldAlg);
      const newKey = generateSigningKey(newAlg);
      const retiredKeysFile = path.join(dataDir, 'retired-keys.json');

      // 1. The service runs with the old key, and a client has a token it signed.
      const before = await startTestServer({ dataDir, clock, env: { JWT_SIGNING_KEY: oldKey } });
      const user = await before.addUser({ scopes: ['read'] });
      const oldToken = await before.issueToken(user.id);
      expect(decodeSegment(oldToken, 0)['kid']).toBe(await kidOf(oldKey));

      // 2. The operator saves the published JWKS, which contains the old public key, then restarts
      //    with the new key and the saved JWKS as verification keys.
      writeFileSync(retiredKeysFile, (await send(`${before.url}/.well-known/jwks.json`)).body);
      await before.close();
      clock.advance(60);

      const during = await startTestServer({
        dataDir,
        clock,
        env: { JWT_SIGNING_KEY: newKey, JWT_VERIFY_KEYS_FILE: retiredKeysFile },
      });
      expect(await publishedKids(during)).toEqual([await kidOf(newKey), await kidOf(oldKey)]);

      const rotated = await refreshedToken(during, oldToken);
      expect(decodeSegment(rotated, 0)).toEqual({
        alg: newAlg,
        typ: 'JWT',
        kid: await kidOf(newKey),
      });
      const { payload } = await jwtVerify(rotated, createPublicKey(newKey), {
        algorithms: [newAlg],
        issuer: during.config.issuer,
        audience: during.config.audience,
        currentDate: new Date(clock.now()),
      });
      expect(payload.sub).toBe(user.id);
      expect(payload['scope']).toEqual(['read']);

      const trpcResult = await refresh(during, 'tRPC', `Bearer ${oldToken}`);
      expect(trpcResult.status).toBe(200);
      await during.close();
      clock.advance(60);

      // 3. Once every old token has been refreshed or has expired, the retired key is removed.
      const after = await startTestServer({ dataDir, clock, env: { JWT_SIGNING_KEY: newKey } });
      expect(await publishedKids(after)).toEqual([await kidOf(newKey)]);

      for (const transport of transports) {
        const rejected = await refresh(after, transport, `Bearer ${oldToken}`);
        expectInvalidToken(rejected, transport, removedMessage);
      }
      const again = await refreshedToken(after, rotated);
      expect(decodeSegment(again, 0)['kid']).toBe(await kidOf(newKey));
      await after.close();
    },
  );

  it('moves from an HS256 secret to an ES256 key without publishing the secret', async () => {
    const clock = frozenClock();
    const newKey = generateSigningKey('ES256');
    const retiredKeysFile = path.join(dataDir, 'retired-keys.json');

    const before = await startTestServer({ dataDir, clock });
    const user = await before.addUser();
    const oldToken = await before.issueToken(user.id);
    await before.close();

    // An HS256 secret is never published, so the operator writes it as an "oct" JWK by hand.
    const secret = Buffer.from(TEST_SECRET).toString('base64url');
    writeFileSync(retiredKeysFile, JSON.stringify({ keys: [{ kty: 'oct', k: secret }] }));
    const during = await startTestServer({
      dataDir,
      clock,
      env: { JWT_SIGNING_KEY: newKey, JWT_VERIFY_KEYS_FILE: retiredKeysFile },
    });

    const jwks = await send(`${during.url}/.well-known/jwks.json`);
    expect(JSON.parse(jwks.body)).toEqual({
      keys: [expect.objectContaining({ kid: await kidOf(newKey) })],
    });
    expect(jwks.body).not.toContain(secret);

    const rotated = await refreshedToken(during, oldToken);
    expect(decodeSegment(rotated, 0)['alg']).toBe('ES256');
    await during.close();

    const after = await startTestServer({ dataDir, clock, env: { JWT_SIGNING_KEY: newKey } });
    for (const transport of transports) {
      // The ES256-only server no longer accepts HS256 at all.
      const rejected = await refresh(after, transport, `Bearer ${oldToken}`);
      expectInvalidToken(rejected, transport, /alg "HS256" is not allowed/);
    }
    expect((await refresh(after, 'REST', `Bearer ${rotated}`)).status).toBe(201);
    await after.close();
  });

  it('rejects a retired kid with a forged signature', async () => {
    const clock = frozenClock();
    const oldKey = generateSigningKey('ES256');
    const forgedKey = generateSigningKey('ES256');
    const retiredKeysFile = path.join(dataDir, 'retired-keys.json');

    const before = await startTestServer({ dataDir, clock, env: { JWT_SIGNING_KEY: oldKey } });
    const user = await before.addUser();
    writeFileSync(retiredKeysFile, (await send(`${before.url}/.well-known/jwks.json`)).body);
    await before.close();

    // A server signing with another key, but whose tokens claim the retired kid.
    const forger = await startTestServer({ clock, env: { JWT_SIGNING_KEY: forgedKey } });
    const forged = await forger.issueToken(user.id);
    await forger.close();
    const [header = '', payload = '', signature = ''] = forged.split('.');
    const claimed = Buffer.from(
      JSON.stringify({ ...decodeSegment(forged, 0), kid: await kidOf(oldKey) }),
    ).toString('base64url');
    expect(header).not.toBe(claimed);

    const during = await startTestServer({
      dataDir,
      clock,
      env: { JWT_SIGNING_KEY: generateSigningKey('EdDSA'), JWT_VERIFY_KEYS_FILE: retiredKeysFile },
    });
    const result = await refresh(during, 'REST', `Bearer ${claimed}.${payload}.${signature}`);
    expectInvalidToken(result, 'REST', /signature verification failed/);
    await during.close();
  });
});
