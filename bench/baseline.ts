/**
 * The bare baseline of the benchmark: a `node:http` server that does the work of one refresh
 * with the libraries the product uses (jose, better-sqlite3) and nothing else. It reads the
 * Bearer header, verifies the token with the same key and claim rules, looks the user up
 * with a prepared statement, signs a new token and responds with 201 and `{token, expires}`.
 * Any failure is a bare 401, 403 or 404: the baseline measures the success path only.
 *
 * Environment: PORT, DATA_DIR, JWT_SIGNING_KEY (an HS256 secret or a PKCS#8 PEM key),
 * and optionally JWT_ISSUER, JWT_AUDIENCE, TOKEN_LIFETIME and JWT_LEEWAY with the
 * product's defaults.
 */
import { createPrivateKey, createPublicKey, randomUUID, webcrypto } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';

import Database from 'better-sqlite3';
import {
  base64url,
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  importPKCS8,
  jwtVerify,
  SignJWT,
} from 'jose';

const maxTokenBytes = 8192;
const bearerPattern = /^bearer +([^ ]+) *$/i;

interface BaselineKey {
  alg: 'HS256' | 'ES256';
  kid: string;
  verifyKey: CryptoKey;
  signKey: CryptoKey;
}

interface UserRow {
  id: string;
  locked: number;
  scopes: string;
}

const env = process.env;
const issuer = env['JWT_ISSUER'] ?? 'tdb';
const audience = env['JWT_AUDIENCE'] ?? 'tdb-api';
const lifetimeSeconds = Number(env['TOKEN_LIFETIME'] ?? 3600);
const leewaySeconds = Number(env['JWT_LEEWAY'] ?? 30);
const port = Number(env['PORT'] ?? 0);

const key = await importKey(required('JWT_SIGNING_KEY'));
const database = new Database(path.join(required('DATA_DIR'), 'tdb.sqlite'));
database.pragma('journal_mode = WAL');
const findUser = database.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?');
const header = { alg: key.alg, typ: 'JWT', kid: key.kid };

const server = createServer((request, response) => {
  if (request.url === '/v1/token') {
    refresh(request, response).catch(() => respond(response, 500, { message: 'internal error' }));
  } else if (request.url === '/healthz') {
    respond(response, 200, { status: 'ok' });
  } else {
    respond(response, 404, { message: 'not found' });
  }
});
server.listen(port, '127.0.0.1');

process.once('SIGTERM', () => {
  server.close();
  database.close();
  server.closeAllConnections();
});

async function refresh(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const token = bearerPattern.exec(request.headers.authorization ?? '')?.[1];
  if (token === undefined || Buffer.byteLength(token) > maxTokenBytes) {
    respond(response, 401, { message: 'token missing or too large' });
    return;
  }

  const nowSeconds = Math.floor(Date.now() / 1000);
  let claims: { sub: string; scope: unknown };
  try {
    const { payload } = await jwtVerify(token, key.verifyKey, {
      algorithms: [key.alg],
      issuer,
      audience,
      typ: 'JWT',
      requiredClaims: ['sub', 'iat', 'exp'],
      clockTolerance: leewaySeconds,
    });
    if ((payload.iat ?? 0) > nowSeconds + leewaySeconds) throw new Error('iat in the future');
    claims = payload as { sub: string; scope: unknown };
  } catch {
    respond(response, 401, { message: 'token invalid' });
    return;
  }

  const user = findUser.get(claims.sub);
  if (user === undefined) {
    respond(response, 401, { message: 'user not found' });
    return;
  }
  if (user.locked === 1) {
    respond(response, 403, { message: 'User is locked' });
    return;
  }

  const granted = new Set(JSON.parse(user.scopes) as string[]);
  const requested = Array.isArray(claims.scope) ? (claims.scope as unknown[]) : [];
  const scope = requested.filter(
    (name): name is string => typeof name === 'string' && granted.has(name),
  );

  const expires = nowSeconds + lifetimeSeconds;
  const issued = await new SignJWT({ scope })
    .setProtectedHeader(header)
    .setSubject(user.id)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(expires)
    .setJti(randomUUID())
    .sign(key.signKey);
  respond(response, 201, { token: issued, expires }, true);
}

function respond(response: ServerResponse, status: number, body: object, noStore = false): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  };
  if (noStore) headers['cache-control'] = 'no-store';
  response.writeHead(status, headers).end(text);
}

/** Imports the key once, the way the product does: an HMAC secret or a P-256 PKCS#8 PEM. */
async function importKey(text: string): Promise<BaselineKey> {
  if (text.startsWith('-----BEGIN')) {
    const publicJwk = await exportJWK(createPublicKey(createPrivateKey(text)));
    if (publicJwk.crv !== 'P-256')
      throw new Error('the baseline supports HS256 secrets and P-256 keys only');
    return {
      alg: 'ES256',
      kid: await calculateJwkThumbprint(publicJwk),
      verifyKey: await webcrypto.subtle.importKey(
        'jwk',
        publicJwk as webcrypto.JsonWebKey,
        { name: 'ECDSA', namedCurve: 'P-256' },
        false,
        ['verify'],
      ),
      signKey: await importPKCS8(text, 'ES256'),
    };
  }

  const secret = new TextEncoder().encode(text);
  const hmac = await webcrypto.subtle.importKey(
    'raw',
    secret,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign', 'verify'],
  );
  return {
    alg: 'HS256',
    kid: await calculateJwkThumbprint({ kty: 'oct', k: base64url.encode(secret) }),
    verifyKey: hmac,
    signKey: hmac,
  };
}

function required(name: string): string {
  const value = env[name]?.trim();
  if (value === undefined || value === '')
    throw new Error(`Missing ${name}: the baseline needs it`);
  return value;
}
