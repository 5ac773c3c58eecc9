import fc from 'fast-check';
import { base64url } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../config.js';
import { type KeyRing, loadKeyRing } from '../keys/key-ring.js';
import { ServiceError } from '../service-error.js';
import { verifyToken } from './verify-token.js';

// verifyToken checks canonical base64url without decoding. These properties compare it with
// the plain definition: a segment is canonical when decoding and encoding it again returns
// the same text.

const secret = 'canonical-segment-test-secret-0123456789';
const rules = { issuer: 'tdb', audience: 'tdb-api', leewaySeconds: 30, graceSeconds: 0 };
const header = base64url.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
const payload = base64url.encode(JSON.stringify({ sub: 'user' }));
const signature = base64url.encode(new Uint8Array(32));

let keys: KeyRing;

beforeAll(async () => {
  keys = await loadKeyRing(loadConfig({ JWT_SIGNING_KEY: secret, DATA_DIR: '/nonexistent' }));
});

/** The definition the check must match: alphabet only, and a lossless decode and encode. */
function isCanonical(segment: string): boolean {
  if (!/^[A-Za-z0-9_-]+$/.test(segment) || segment.length % 4 === 1) return false;
  return base64url.encode(base64url.decode(segment)) === segment;
}

/** Returns the message verifyToken rejects the token with. */
async function rejection(token: string): Promise<string> {
  try {
    await verifyToken(token, keys, rules, 1_800_000_000);
  } catch (error) {
    if (error instanceof ServiceError) return error.message;
    throw error;
  }
  throw new Error('verifyToken accepted the token');
}

/** Segments near the boundaries: base64url text of every length, with any last character. */
const segments = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 40 }).map((bytes) => base64url.encode(bytes)),
  fc
    .tuple(
      fc.uint8Array({ minLength: 1, maxLength: 40 }),
      fc.constantFrom(...'AQgwBCDEghijz019-_'.split('')),
    )
    .map(([bytes, last]) => `${base64url.encode(bytes).slice(0, -1)}${last}`),
  fc.string({ maxLength: 12 }).filter((text) => !text.includes('.')),
);

describe('canonical segment check', () => {
  for (const [part, build] of [
    ['header', (segment: string) => `${segment}.${payload}.${signature}`],
    ['payload', (segment: string) => `${header}.${segment}.${signature}`],
    ['signature', (segment: string) => `${header}.${payload}.${segment}`],
  ] as const) {
    it(`matches decode-and-encode for the ${part}`, async () => {
      await fc.assert(
        fc.asyncProperty(segments, async (segment) => {
          const message = await rejection(build(segment));
          const flagged =
            message === `token malformed: the ${part} segment is not canonical base64url`;
          expect(flagged).toBe(!isCanonical(segment));
        }),
        { numRuns: 400 },
      );
    });
  }

  it('rejects unused bits set in a payload of each length', async () => {
    // "AQ" is one byte; "AR" spells the same byte with a bit set past its end.
    expect(await rejection(`${header}.AR.${signature}`)).toBe(
      'token malformed: the payload segment is not canonical base64url',
    );
    // "AQI" is two bytes; "AQJ" sets one of the two unused bits.
    expect(await rejection(`${header}.AQJ.${signature}`)).toBe(
      'token malformed: the payload segment is not canonical base64url',
    );
  });
});
