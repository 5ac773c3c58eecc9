import { generateKeyPairSync } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { KeyError, parseSigningKey } from './signing-key.js';

const pem = generateKeyPairSync('ed25519')
  .privateKey.export({ format: 'pem', type: 'pkcs8' })
  .toString();

describe('parseSigningKey', () => {
  it('reads a PEM key surrounded by blank lines', async () => {
    const key = await parseSigningKey(`\n${pem}\n\n`, 'JWT_SIGNING_KEY');
    expect(key.alg).toBe('EdDSA');
  });

  it('rejects text before the PEM block', async () => {
    const captured = `> tdb@ tdb /work\n> node apps/server/dist/cli.js key generate --alg EdDSA\n\n${pem}`;

    await expect(parseSigningKey(captured, 'JWT_SIGNING_KEY_FILE')).rejects.toThrow(KeyError);
    await expect(parseSigningKey(captured, 'JWT_SIGNING_KEY_FILE')).rejects.toThrow(
      /^Invalid JWT_SIGNING_KEY_FILE: text precedes the "-----BEGIN" line/,
    );
  });

  it('refuses a secret that spans several lines', async () => {
    const secret = `${'a'.repeat(40)}\n${'b'.repeat(40)}`;

    await expect(parseSigningKey(secret, 'JWT_SIGNING_KEY')).rejects.toThrow(
      'Invalid JWT_SIGNING_KEY: an HS256 secret must be one line',
    );
  });

  it('reads a one-line secret of 32 bytes as HS256', async () => {
    const key = await parseSigningKey('x'.repeat(32), 'JWT_SIGNING_KEY');
    expect(key.alg).toBe('HS256');
    expect(key.publicJwk).toBeUndefined();
  });
});
