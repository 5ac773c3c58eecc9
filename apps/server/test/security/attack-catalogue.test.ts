import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';

import { exportJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generateSigningKey } from '../../src/keys/generate-key.js';
import { segment } from '../support/craft-token.js';
import { startTestServer, TEST_SECRET, type TestServer } from '../support/test-server.js';
import {
  type CraftingKey,
  expectInvalidToken,
  refresh,
  signCompact,
  type TokenPart,
  transports,
  validClaims,
} from './security-support.js';

/** One server under attack, with the key it signs with and a key of the attacker's own. */
interface Target {
  server: TestServer;
  userId: string;
  alg: 'HS256' | 'ES256';
  serverKey: CraftingKey;
  attackerKey: CraftingKey;
  /** The attacker's key as a JWK, the way a token would embed it in `jwk`. */
  attackerJwk: Record<string, unknown>;
  /** The server's public key as SPKI PEM; empty for an HMAC server. */
  publicPem: string;
}

interface Attack {
  name: string;
  /** Only for servers signing with this algorithm; every server when undefined. */
  only?: Target['alg'];
  token: (target: Target) => string;
  message: RegExp;
}

const targets: Record<Target['alg'], Target> = {} as Record<Target['alg'], Target>;

beforeAll(async () => {
  // The limit on failed refreshes would return 429 partway through the catalogue.
  const env = { FAILED_REFRESH_LIMIT: '0' };

  const hmacServer = await startTestServer({ env });
  const attackerSecret = randomBytes(32);
  targets.HS256 = {
    server: hmacServer,
    userId: (await hmacServer.addUser()).id,
    alg: 'HS256',
    serverKey: { alg: 'HS256', secret: TEST_SECRET },
    attackerKey: { alg: 'HS256', secret: attackerSecret },
    attackerJwk: { kty: 'oct', k: attackerSecret.toString('base64url') },
    publicPem: '',
  };

  const pem = generateSigningKey('ES256');
  const ecServer = await startTestServer({ env: { ...env, JWT_SIGNING_KEY: pem } });
  const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  targets.ES256 = {
    server: ecServer,
    userId: (await ecServer.addUser()).id,
    alg: 'ES256',
    serverKey: { alg: 'ES256', privateKey: createPrivateKey(pem) },
    attackerKey: { alg: 'ES256', privateKey: attacker.privateKey },
    attackerJwk: { ...(await exportJWK(attacker.publicKey)) },
    publicPem: createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString(),
  };
});

afterAll(async () => {
  await targets.HS256?.server.close();
  await targets.ES256?.server.close();
});

function headerOf(target: Target, changes: Record<string, unknown> = {}): Record<string, unknown> {
  const header: Record<string, unknown> = {
    alg: target.alg,
    typ: 'JWT',
    kid: target.server.keys.signing.kid,
  };
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) delete header[name];
    else header[name] = value;
  }
  return header;
}

/** Signs a token with the server's own key, with the given header changes and payload. */
function signed(
  target: Target,
  headerChanges: Record<string, unknown>,
  payload?: TokenPart,
): string {
  return signCompact(
    headerOf(target, headerChanges),
    payload ?? validClaims(target.server, target.userId),
    target.serverKey,
  );
}

/** Signs a token whose claims differ from a valid one: `undefined` removes a claim. */
function withClaims(target: Target, changes: Record<string, unknown>): string {
  const claims = validClaims(target.server, target.userId);
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) delete claims[name];
    else claims[name] = value;
  }
  return signed(target, {}, claims);
}

/**
 * Signs a valid token whose payload segment contains both "-" and "_", which standard
 * base64 spells "+" and "/".
 */
function tokenWithUrlSafeCharacters(target: Target): string {
  for (let length = 1; length < 64; length += 1) {
    const claims = { ...validClaims(target.server, target.userId), jti: `${'?>'.repeat(length)}~` };
    if (segment(claims).includes('-') && segment(claims).includes('_'))
      return signed(target, {}, claims);
  }
  throw new Error('no payload with both "-" and "_" found');
}

function replaceSegment(token: string, index: number, change: (part: string) => string): string {
  const parts = token.split('.');
  parts[index] = change(parts[index] ?? '');
  return parts.join('.');
}

const base64urlAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Spells the signature differently with the same bytes: the last character of an unpadded
 * segment carries unused low bits, and lenient decoders ignore them.
 */
function nonCanonicalSignature(token: string): string {
  return replaceSegment(token, 2, (part) => {
    const last = base64urlAlphabet.indexOf(part.at(-1) ?? 'A');
    const spelled = `${part.slice(0, -1)}${base64urlAlphabet[last ^ 1]}`;
    if (!Buffer.from(spelled, 'base64url').equals(Buffer.from(part, 'base64url'))) {
      throw new Error('the changed signature decodes to other bytes');
    }
    return spelled;
  });
}

const attacks: Attack[] = [
  // The algorithm.
  {
    name: 'alg none without a signature',
    token: (t) =>
      `${segment(headerOf(t, { alg: 'none' }))}.${segment(validClaims(t.server, t.userId))}.`,
    message: /alg "none" is not allowed/,
  },
  {
    name: 'alg "None" with a valid signature',
    token: (t) => signed(t, { alg: 'None' }),
    message: /alg "none" is not allowed/,
  },
  { name: 'no alg', token: (t) => signed(t, { alg: undefined }), message: /no "alg"/ },
  {
    name: 'alg HS512',
    token: (t) => signed(t, { alg: 'HS512' }),
    message: /alg "HS512" is not allowed/,
  },
  {
    name: 'HS256 signed with the server public key PEM (algorithm confusion)',
    only: 'ES256',
    token: (t) =>
      signCompact(headerOf(t, { alg: 'HS256' }), validClaims(t.server, t.userId), {
        alg: 'HS256',
        secret: t.publicPem,
      }),
    message: /alg "HS256" is not allowed/,
  },
  {
    name: 'HS256 signed with the server public JWK (algorithm confusion)',
    only: 'ES256',
    token: (t) => {
      const publicJwk = JSON.stringify(t.server.keys.signing.publicJwk);
      return signCompact(headerOf(t, { alg: 'HS256' }), validClaims(t.server, t.userId), {
        alg: 'HS256',
        secret: publicJwk,
      });
    },
    message: /alg "HS256" is not allowed/,
  },
  {
    name: 'ES256 signed with a foreign key on an HS256 server',
    only: 'HS256',
    token: (t) => {
      const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      return signCompact(headerOf(t, { alg: 'ES256' }), validClaims(t.server, t.userId), {
        alg: 'ES256',
        privateKey: foreign,
      });
    },
    message: /alg "ES256" is not allowed/,
  },

  // Keys named by the token itself.
  {
    name: 'an embedded jwk of the attacker',
    token: (t) =>
      signCompact(
        headerOf(t, { jwk: t.attackerJwk, kid: undefined }),
        validClaims(t.server, t.userId),
        t.attackerKey,
      ),
    message: /header parameter "jwk" is not accepted/,
  },
  {
    name: 'an embedded jwk beside the server kid',
    token: (t) =>
      signCompact(
        headerOf(t, { jwk: t.attackerJwk }),
        validClaims(t.server, t.userId),
        t.attackerKey,
      ),
    message: /header parameter "jwk" is not accepted/,
  },
  {
    name: 'a jku URL',
    token: (t) =>
      signCompact(
        headerOf(t, { jku: 'http://127.0.0.1:9/jwks.json' }),
        validClaims(t.server, t.userId),
        t.attackerKey,
      ),
    message: /header parameter "jku" is not accepted/,
  },
  {
    name: 'an x5u URL',
    token: (t) =>
      signCompact(
        headerOf(t, { x5u: 'http://127.0.0.1:9/cert.pem' }),
        validClaims(t.server, t.userId),
        t.attackerKey,
      ),
    message: /header parameter "x5u" is not accepted/,
  },
  {
    name: 'an x5c chain',
    token: (t) =>
      signCompact(headerOf(t, { x5c: ['MIIB'] }), validClaims(t.server, t.userId), t.attackerKey),
    message: /header parameter "x5c" is not accepted/,
  },
  {
    name: 'the server kid with the attacker signature',
    token: (t) => signCompact(headerOf(t), validClaims(t.server, t.userId), t.attackerKey),
    message: /signature verification failed/,
  },
  {
    name: 'an unknown kid',
    token: (t) => signed(t, { kid: 'retired-long-ago' }),
    message: /"kid" names no known key/,
  },
  {
    name: 'a kid holding a relative path',
    token: (t) => signed(t, { kid: '../../../../../../dev/null' }),
    message: /"kid" names no known key/,
  },
  {
    name: 'a kid holding an absolute path',
    token: (t) => signed(t, { kid: '/etc/passwd' }),
    message: /"kid" names no known key/,
  },
  {
    name: 'a kid holding a file URL',
    token: (t) => signed(t, { kid: 'file:///etc/passwd' }),
    message: /"kid" names no known key/,
  },
  {
    name: 'a kid holding an HTTP URL',
    token: (t) => signed(t, { kid: 'http://127.0.0.1:9/key.pem' }),
    message: /"kid" names no known key/,
  },
  {
    name: 'a kid holding SQL',
    token: (t) => signed(t, { kid: "x' OR '1'='1" }),
    message: /"kid" names no known key/,
  },
  {
    name: 'a kid that is a number',
    token: (t) => signed(t, { kid: 1 }),
    message: /"kid" must be a string/,
  },

  // Other header parameters.
  {
    name: 'an unknown crit entry',
    token: (t) => signed(t, { crit: ['urn:example:unknown'], 'urn:example:unknown': true }),
    message: /"crit"/,
  },
  {
    name: 'crit naming a registered claim',
    token: (t) => signed(t, { crit: ['exp'] }),
    message: /"crit"/,
  },
  { name: 'an empty crit list', token: (t) => signed(t, { crit: [] }), message: /"crit"/ },
  { name: 'typ JWS', token: (t) => signed(t, { typ: 'JWS' }), message: /"typ" must be "JWT"/ },
  {
    name: 'typ at+jwt',
    token: (t) => signed(t, { typ: 'at+jwt' }),
    message: /"typ" must be "JWT"/,
  },
  { name: 'no typ', token: (t) => signed(t, { typ: undefined }), message: /"typ" must be "JWT"/ },
  {
    name: 'typ that is a number',
    token: (t) => signed(t, { typ: 1 }),
    message: /"typ" must be "JWT"/,
  },
  {
    name: 'a header that is not JSON',
    token: (t) => signCompact('not json', validClaims(t.server, t.userId), t.serverKey),
    message: /header is not valid JSON/,
  },
  {
    name: 'a header that is not UTF-8',
    token: (t) =>
      signCompact(
        Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]),
        validClaims(t.server, t.userId),
        t.serverKey,
      ),
    message: /header is not valid JSON/,
  },
  {
    name: 'a header that is a JSON array',
    token: (t) => signCompact('[{"alg":"HS256"}]', validClaims(t.server, t.userId), t.serverKey),
    message: /header is not a JSON object/,
  },
  {
    name: 'a header that is JSON null',
    token: (t) => signCompact('null', validClaims(t.server, t.userId), t.serverKey),
    message: /header is not a JSON object/,
  },

  // The payload.
  {
    name: 'a payload that is not JSON',
    token: (t) => signed(t, {}, 'not json'),
    message: /payload is not valid JSON/,
  },
  {
    name: 'a payload that is an array',
    token: (t) => signed(t, {}, '[]'),
    message: /payload is not a JSON object/,
  },
  {
    name: 'a payload that is a string',
    token: (t) => signed(t, {}, '"user"'),
    message: /payload is not a JSON object/,
  },
  {
    name: 'a payload that is a number',
    token: (t) => signed(t, {}, '42'),
    message: /payload is not a JSON object/,
  },
  {
    name: 'a payload that is null',
    token: (t) => signed(t, {}, 'null'),
    message: /payload is not a JSON object/,
  },
  { name: 'no sub', token: (t) => withClaims(t, { sub: undefined }), message: /no "sub" claim/ },
  {
    name: 'an empty sub',
    token: (t) => withClaims(t, { sub: '' }),
    message: /"sub" claim must be a non-empty string/,
  },
  {
    name: 'a 256-character sub',
    token: (t) => withClaims(t, { sub: 'u'.repeat(256) }),
    message: /"sub" claim must be a non-empty string of at most 255/,
  },
  {
    name: 'a sub that is a number',
    token: (t) => withClaims(t, { sub: 42 }),
    message: /"sub" claim must be a non-empty string/,
  },
  {
    name: 'a sub that is null',
    token: (t) => withClaims(t, { sub: null }),
    message: /"sub" claim must be a non-empty string/,
  },
  {
    name: 'a sub that is an array',
    token: (t) => withClaims(t, { sub: [t.userId] }),
    message: /"sub" claim must be a non-empty string/,
  },
  {
    name: 'a scope that is a string',
    token: (t) => withClaims(t, { scope: 'read write' }),
    message: /"scope" claim must be an array of strings/,
  },
  {
    name: 'a scope holding a number',
    token: (t) => withClaims(t, { scope: ['read', 1] }),
    message: /"scope" claim must be an array of strings/,
  },
  {
    name: 'a scope holding null',
    token: (t) => withClaims(t, { scope: [null] }),
    message: /"scope" claim must be an array of strings/,
  },
  {
    name: 'a scope that is an object',
    token: (t) => withClaims(t, { scope: { read: true } }),
    message: /"scope" claim must be an array of strings/,
  },
  {
    name: 'a scope that is null',
    token: (t) => withClaims(t, { scope: null }),
    message: /"scope" claim must be an array of strings/,
  },
  {
    name: 'exp as a string',
    token: (t) => withClaims(t, { exp: String(t.server.clock.seconds() + 3600) }),
    message: /"exp" claim must be a number/,
  },
  {
    name: 'iat as a string',
    token: (t) => withClaims(t, { iat: String(t.server.clock.seconds()) }),
    message: /"iat" claim must be a number/,
  },
  {
    name: 'nbf as a string',
    token: (t) => withClaims(t, { nbf: String(t.server.clock.seconds()) }),
    message: /"nbf" claim must be a number/,
  },
  { name: 'no exp', token: (t) => withClaims(t, { exp: undefined }), message: /no "exp" claim/ },
  {
    name: 'a jti that is a number',
    token: (t) => withClaims(t, { jti: 7 }),
    message: /"jti" claim must be a string/,
  },

  // Other spellings of the same bytes, and malformed structure.
  {
    name: '"=" padding on the header',
    token: (t) => replaceSegment(signed(t, {}), 0, (part) => `${part}=`),
    message: /header segment is not canonical base64url/,
  },
  {
    name: '"=" padding on the payload',
    token: (t) => replaceSegment(signed(t, {}), 1, (part) => `${part}=`),
    message: /payload segment is not canonical base64url/,
  },
  {
    name: '"=" padding on the signature',
    token: (t) => replaceSegment(signed(t, {}), 2, (part) => `${part}=`),
    message: /signature segment is not canonical base64url/,
  },
  {
    name: '"+" in place of "-" in the payload',
    token: (t) =>
      replaceSegment(tokenWithUrlSafeCharacters(t), 1, (part) => part.replaceAll('-', '+')),
    message: /payload segment is not canonical base64url/,
  },
  {
    name: '"/" in place of "_" in the payload',
    token: (t) =>
      replaceSegment(tokenWithUrlSafeCharacters(t), 1, (part) => part.replaceAll('_', '/')),
    message: /payload segment is not canonical base64url/,
  },
  {
    name: 'a space inside the payload',
    token: (t) =>
      replaceSegment(signed(t, {}), 1, (part) => `${part.slice(0, 8)} ${part.slice(8)}`),
    message: /payload segment is not canonical base64url/,
  },
  {
    name: 'a tab inside the signature',
    token: (t) =>
      replaceSegment(signed(t, {}), 2, (part) => `${part.slice(0, 8)}\t${part.slice(8)}`),
    message: /signature segment is not canonical base64url/,
  },
  {
    name: 'unused bits set in the last signature character',
    token: (t) => nonCanonicalSignature(signed(t, {})),
    message: /signature segment is not canonical base64url/,
  },
  {
    name: 'two segments',
    token: (t) => signed(t, {}).split('.').slice(0, 2).join('.'),
    message: /expected 3 dot-separated segments, got 2/,
  },
  {
    name: 'five segments like a JWE',
    token: (t) => `${signed(t, {})}.AAAA.AAAA`,
    message: /expected 3 dot-separated segments, got 5/,
  },
  {
    name: 'an empty signature',
    token: (t) => replaceSegment(signed(t, {}), 2, () => ''),
    message: /signature segment is not canonical base64url/,
  },
];

describe.each(['HS256', 'ES256'] as const)('attack catalogue against an %s server', (alg) => {
  describe.each(transports)('over %s', (transport) => {
    it('refreshes a token crafted the same way but valid', async () => {
      const target = targets[alg];
      const result = await refresh(target.server, transport, `Bearer ${signed(target, {})}`);

      expect(result.status).toBe(transport === 'REST' ? 201 : 200);
    });

    const applicable = attacks.filter((attack) => attack.only === undefined || attack.only === alg);
    it.each(applicable.map((attack) => [attack.name, attack] as const))(
      'rejects %s with 401',
      async (_name, attack) => {
        const target = targets[alg];
        const result = await refresh(target.server, transport, `Bearer ${attack.token(target)}`);

        expectInvalidToken(result, transport, attack.message);
      },
    );
  });
});
