import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { calculateJwkThumbprint, exportJWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type CliIo, runCli } from '../../src/cli/run-cli.js';
import { loadConfig } from '../../src/config.js';
import { loadKeyRing } from '../../src/keys/key-ring.js';
import { KeyError, parseSigningKey, parseVerificationJwk } from '../../src/keys/signing-key.js';
import { startTestServer } from '../support/test-server.js';
import { decodeSegment, refresh } from './security-support.js';

type AsymmetricAlgorithm = 'ES256' | 'EdDSA' | 'RS256';

const privateKeys = {} as Record<AsymmetricAlgorithm, KeyObject>;
let folder: string;

beforeAll(() => {
  privateKeys.ES256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  privateKeys.EdDSA = generateKeyPairSync('ed25519').privateKey;
  privateKeys.RS256 = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  folder = mkdtempSync(path.join(tmpdir(), 'tdb-keys-'));
});

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

/** The forms an operator may give a private key in, as environment variables. */
const keyForms: [AsymmetricAlgorithm, string, (key: KeyObject) => Record<string, string>][] = [];
for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) {
  keyForms.push([
    alg,
    'a PKCS#8 PEM in JWT_SIGNING_KEY',
    (key) => ({ JWT_SIGNING_KEY: key.export({ type: 'pkcs8', format: 'pem' }).toString() }),
  ]);
  keyForms.push([
    alg,
    'a private JWK in JWT_SIGNING_KEY',
    (key) => ({ JWT_SIGNING_KEY: JSON.stringify(key.export({ format: 'jwk' })) }),
  ]);
  keyForms.push([
    alg,
    'a PEM file in JWT_SIGNING_KEY_FILE',
    (key) => {
      const file = path.join(folder, `${alg}.pem`);
      writeFileSync(file, key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      // The test server sets JWT_SIGNING_KEY unless a test blanks it; blank means unset.
      return { JWT_SIGNING_KEY: '', JWT_SIGNING_KEY_FILE: file };
    },
  ]);
}
keyForms.push([
  'ES256',
  'a SEC1 PEM in JWT_SIGNING_KEY',
  (key) => ({ JWT_SIGNING_KEY: key.export({ type: 'sec1', format: 'pem' }).toString() }),
]);
keyForms.push([
  'RS256',
  'a PKCS#1 PEM in JWT_SIGNING_KEY',
  (key) => ({ JWT_SIGNING_KEY: key.export({ type: 'pkcs1', format: 'pem' }).toString() }),
]);

describe('asymmetric signing', () => {
  it.each(keyForms)('signs %s tokens from %s', async (alg, _form, environment) => {
    const privateKey = privateKeys[alg];
    const publicKey = createPublicKey(privateKey);
    const expectedKid = await calculateJwkThumbprint(await exportJWK(publicKey));
    await using server = await startTestServer({ env: environment(privateKey) });
    const user = await server.addUser({ scopes: ['read'] });

    const result = await refresh(server, 'REST', `Bearer ${await server.issueToken(user.id)}`);

    expect(result.status).toBe(201);
    const token = result.body?.['token'] as string;
    expect(decodeSegment(token, 0)).toEqual({ alg, typ: 'JWT', kid: expectedKid });

    const { payload } = await jwtVerify(token, publicKey, {
      algorithms: [alg],
      issuer: server.config.issuer,
      audience: server.config.audience,
      currentDate: new Date(server.clock.now()),
    });
    expect(payload.sub).toBe(user.id);
    expect(payload['scope']).toEqual(['read']);
  });

  it('sets kid to the RFC 7638 thumbprint of the public key', async () => {
    // The RSA key and thumbprint of the worked example in RFC 7638 section 3.1.
    const n =
      '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw';

    const key = await parseVerificationJwk({ kty: 'RSA', n, e: 'AQAB' }, 'JWT_VERIFY_KEYS_FILE');

    expect(key.alg).toBe('RS256');
    expect(key.kid).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });
});

describe('tdb key generate', () => {
  async function generate(
    args: string[],
  ): Promise<{ status: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      env: {},
    };
    const status = await runCli(['key', 'generate', ...args], io);
    return { status, stdout, stderr };
  }

  it.each(['HS256', 'ES256', 'EdDSA', 'RS256'] as const)(
    'prints a %s key that JWT_SIGNING_KEY accepts',
    async (alg) => {
      const output = await generate(['--alg', alg]);

      expect(output.status).toBe(0);
      const key = await parseSigningKey(output.stdout, 'JWT_SIGNING_KEY');
      expect(key.alg).toBe(alg);
    },
  );

  it('prints an HS256 secret of at least 32 bytes by default', async () => {
    const output = await generate([]);

    expect(output.status).toBe(0);
    expect(Buffer.byteLength(output.stdout.trim())).toBeGreaterThanOrEqual(32);
    expect((await parseSigningKey(output.stdout, 'JWT_SIGNING_KEY')).alg).toBe('HS256');
  });

  it('prints a different key each time', async () => {
    const first = await generate(['--alg', 'EdDSA']);
    const second = await generate(['--alg', 'EdDSA']);

    expect(first.stdout).not.toBe(second.stdout);
  });

  it('rejects an unknown algorithm with a usage error', async () => {
    const output = await generate(['--alg', 'HS512']);

    expect(output.status).toBe(2);
    expect(output.stdout).toBe('');
    expect(output.stderr).toContain(
      'invalid --alg "HS512": expected one of HS256, ES256, EdDSA, RS256',
    );
  });
});

describe('weak or unusable signing keys', () => {
  function pem(key: KeyObject): string {
    return key.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  const smallRsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
  const ed25519 = generateKeyPairSync('ed25519');

  const cases: [string, () => Record<string, string>, string, RegExp][] = [
    [
      'a 1024-bit RSA PEM',
      () => ({ JWT_SIGNING_KEY: pem(smallRsa) }),
      'JWT_SIGNING_KEY',
      /RSA keys must be at least 2048 bits, got 1024/,
    ],
    [
      'a 1024-bit RSA JWK',
      () => ({ JWT_SIGNING_KEY: JSON.stringify(smallRsa.export({ format: 'jwk' })) }),
      'JWT_SIGNING_KEY',
      /RSA keys must be at least 2048 bits, got 1024/,
    ],
    [
      'a 1024-bit RSA PEM file',
      () => {
        const file = path.join(folder, 'small-rsa.pem');
        writeFileSync(file, pem(smallRsa));
        return { JWT_SIGNING_KEY_FILE: file };
      },
      'JWT_SIGNING_KEY_FILE',
      /RSA keys must be at least 2048 bits, got 1024/,
    ],
    [
      'a 31-byte HMAC secret',
      () => ({ JWT_SIGNING_KEY: 's'.repeat(31) }),
      'JWT_SIGNING_KEY',
      /HS256 secret must be at least 32 bytes, got 31/,
    ],
    [
      'a 16-byte oct JWK',
      () => ({
        JWT_SIGNING_KEY: JSON.stringify({
          kty: 'oct',
          k: Buffer.alloc(16, 7).toString('base64url'),
        }),
      }),
      'JWT_SIGNING_KEY',
      /HS256 secret must be at least 32 bytes, got 16/,
    ],
    ['a P-384 key', () => ({ JWT_SIGNING_KEY: pem(p384) }), 'JWT_SIGNING_KEY', /P-256 curve/],
    [
      'a public key PEM',
      () => ({
        JWT_SIGNING_KEY: ed25519.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      }),
      'JWT_SIGNING_KEY',
      /not a private key/,
    ],
    [
      'a public JWK',
      () => ({ JWT_SIGNING_KEY: JSON.stringify(ed25519.publicKey.export({ format: 'jwk' })) }),
      'JWT_SIGNING_KEY',
      /the JWK is a public key/,
    ],
    [
      'a 1024-bit RSA key in the verification keys',
      () => {
        const file = path.join(folder, 'small-rsa.jwks.json');
        writeFileSync(
          file,
          JSON.stringify({ keys: [createPublicKey(smallRsa).export({ format: 'jwk' })] }),
        );
        return { JWT_VERIFY_KEYS_FILE: file };
      },
      'JWT_VERIFY_KEYS_FILE',
      /RSA keys must be at least 2048 bits, got 1024/,
    ],
    [
      'a verification key declaring another alg',
      () => {
        const file = path.join(folder, 'wrong-alg.jwks.json');
        const jwk = { ...ed25519.publicKey.export({ format: 'jwk' }), alg: 'ES256' };
        writeFileSync(file, JSON.stringify({ keys: [jwk] }));
        return { JWT_VERIFY_KEYS_FILE: file };
      },
      'JWT_VERIFY_KEYS_FILE',
      /declares "alg" "ES256", but its key type gives EdDSA/,
    ],
    [
      'a verification key whose kid is a number',
      () => {
        const file = path.join(folder, 'numeric-kid.jwks.json');
        const jwk = { ...ed25519.publicKey.export({ format: 'jwk' }), kid: 7 };
        writeFileSync(file, JSON.stringify({ keys: [jwk] }));
        return { JWT_VERIFY_KEYS_FILE: file };
      },
      'JWT_VERIFY_KEYS_FILE',
      /"kid" must be a non-empty string/,
    ],
  ];

  it.each(cases)(
    'refuses %s at start, naming the variable',
    async (_case, environment, variable, message) => {
      const error = await loadKeyRing(loadConfig({ DATA_DIR: folder, ...environment() })).catch(
        (caught: unknown) => caught,
      );

      expect(error).toBeInstanceOf(KeyError);
      expect((error as KeyError).variable).toBe(variable);
      expect((error as KeyError).message).toMatch(new RegExp(`^Invalid ${variable}: `));
      expect((error as KeyError).message).toMatch(message);
      expect((error as KeyError).message).not.toContain('\n');
    },
  );

  it('stops tdb serve with exit status 1 and one line naming the variable', async () => {
    const lines: string[] = [];
    const status = await runCli(['serve'], {
      stdout: (text) => lines.push(text),
      stderr: (text) => lines.push(text),
      env: {
        HOST: '127.0.0.1',
        PORT: '0',
        DATA_DIR: folder,
        LOG_LEVEL: 'silent',
        JWT_SIGNING_KEY: pem(smallRsa),
      },
    });

    expect(status).toBe(1);
    expect(lines).toEqual([
      'tdb: Invalid JWT_SIGNING_KEY: RSA keys must be at least 2048 bits, got 1024.',
    ]);
  });
});
