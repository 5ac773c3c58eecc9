import {
  createPrivateKey,
  createPublicKey,
  type JsonWebKey,
  type KeyObject,
  webcrypto,
} from 'node:crypto';

import { base64url, calculateJwkThumbprint, exportJWK, type JWK } from 'jose';

/** Algorithms this service signs and verifies with; the algorithm always follows from the key. */
export const supportedAlgorithms = ['HS256', 'ES256', 'EdDSA', 'RS256'] as const;
export type SigningAlgorithm = (typeof supportedAlgorithms)[number];
type AsymmetricAlgorithm = Exclude<SigningAlgorithm, 'HS256'>;
type CryptoKey = webcrypto.CryptoKey;

export const MIN_HMAC_SECRET_BYTES = 32;
export const MIN_RSA_MODULUS_BITS = 2048;

/** A key ready for jose: imported once at start, never per request. */
export interface VerificationKey {
  kid: string;
  alg: SigningAlgorithm;
  key: CryptoKey;
  /** The public JWK published at /.well-known/jwks.json; undefined for HMAC secrets. */
  publicJwk: JWK | undefined;
}

export interface SigningKey extends VerificationKey {
  signingKey: CryptoKey;
}

/** A key text that cannot be used; `variable` is the configuration variable it came from. */
export class KeyError extends Error {
  override name = 'KeyError';

  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Parses a signing key given as an HMAC secret, a PKCS#8 PEM private key or a private JWK.
 * HS256 for secrets and `oct` JWKs, ES256 for P-256, EdDSA for Ed25519, RS256 for RSA.
 */
export async function parseSigningKey(text: string, variable: string): Promise<SigningKey> {
  const trimmed = text.trim();

  if (trimmed.startsWith('-----BEGIN')) {
    return asymmetricKey(privateKeyFromPem(trimmed, variable), variable);
  }
  if (trimmed.startsWith('{')) {
    const jwk = parseJwk(trimmed, variable);
    if (jwk.kty === 'oct') return hmacKey(jwkSecret(jwk, variable), variable);
    return asymmetricKey(privateKeyFromJwk(jwk, variable), variable);
  }
  if (trimmed.includes('-----BEGIN')) {
    throw new KeyError(
      variable,
      `Invalid ${variable}: text precedes the "-----BEGIN" line of the PEM key. Remove it; if the key came from "pnpm tdb key generate", run "pnpm -s tdb key generate" so pnpm prints no header lines.`,
    );
  }
  if (/[\r\n]/.test(trimmed)) {
    throw new KeyError(
      variable,
      `Invalid ${variable}: an HS256 secret must be one line, but the text has several. Expected a secret, a PEM private key or a JWK.`,
    );
  }
  return hmacKey(new TextEncoder().encode(trimmed), variable);
}

/** Parses a public (or private) JWK of a retired key that is still accepted for verification. */
export async function parseVerificationJwk(jwk: JWK, variable: string): Promise<VerificationKey> {
  if (jwk.kid !== undefined && (typeof jwk.kid !== 'string' || jwk.kid === '')) {
    throw new KeyError(variable, `Invalid ${variable}: a key's "kid" must be a non-empty string.`);
  }

  if (jwk.kty === 'oct') {
    const key = await hmacKey(jwkSecret(jwk, variable), variable);
    checkDeclaredAlgorithm(jwk, key.alg, variable);
    return { kid: jwk.kid ?? key.kid, alg: key.alg, key: key.key, publicJwk: undefined };
  }

  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: withoutPrivateMembers(jwk) as JsonWebKey, format: 'jwk' });
  } catch (error) {
    throw new KeyError(
      variable,
      `Invalid ${variable}: a key could not be read (${describe(error)}).`,
    );
  }

  const alg = algorithmOf(publicKey, variable);
  checkDeclaredAlgorithm(jwk, alg, variable);
  const publicJwk = await exportJWK(publicKey);
  const kid = jwk.kid ?? (await calculateJwkThumbprint(publicJwk));
  return {
    kid,
    alg,
    key: await importWebCryptoKey(publicKey, alg, 'public'),
    publicJwk: { ...publicJwk, kid, alg, use: 'sig' },
  };
}

/**
 * Rejects a JWK whose `alg` names another algorithm than its key type gives, because the
 * service would otherwise verify with an algorithm the operator did not intend.
 */
function checkDeclaredAlgorithm(jwk: JWK, alg: SigningAlgorithm, variable: string): void {
  if (jwk.alg !== undefined && jwk.alg !== alg) {
    throw new KeyError(
      variable,
      `Invalid ${variable}: a key declares "alg" ${JSON.stringify(jwk.alg)}, but its key type gives ${alg}. Remove "alg" or set it to ${alg}.`,
    );
  }
}

async function hmacKey(secret: Uint8Array, variable: string): Promise<SigningKey> {
  if (secret.byteLength < MIN_HMAC_SECRET_BYTES) {
    throw new KeyError(
      variable,
      `Invalid ${variable}: an HS256 secret must be at least ${MIN_HMAC_SECRET_BYTES} bytes, got ${secret.byteLength}. Generate one with "tdb key generate".`,
    );
  }

  const key = await webcrypto.subtle.importKey(
    'raw',
    secret,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign', 'verify'],
  );
  const kid = await calculateJwkThumbprint({ kty: 'oct', k: base64url.encode(secret) });
  return { kid, alg: 'HS256', key, signingKey: key, publicJwk: undefined };
}

async function asymmetricKey(privateKey: KeyObject, variable: string): Promise<SigningKey> {
  const alg = algorithmOf(privateKey, variable);
  const publicKey = createPublicKey(privateKey);
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);

  return {
    kid,
    alg,
    key: await importWebCryptoKey(publicKey, alg, 'public'),
    signingKey: await importWebCryptoKey(privateKey, alg, 'private'),
    publicJwk: { ...publicJwk, kid, alg, use: 'sig' },
  };
}

function algorithmOf(key: KeyObject, variable: string): AsymmetricAlgorithm {
  const details = key.asymmetricKeyDetails ?? {};

  switch (key.asymmetricKeyType) {
    case 'ec':
      if (details.namedCurve === 'prime256v1') return 'ES256';
      throw new KeyError(
        variable,
        `Invalid ${variable}: EC keys must use the P-256 curve (ES256), got ${details.namedCurve ?? 'unknown'}.`,
      );
    case 'ed25519':
      return 'EdDSA';
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      if (bits < MIN_RSA_MODULUS_BITS) {
        throw new KeyError(
          variable,
          `Invalid ${variable}: RSA keys must be at least ${MIN_RSA_MODULUS_BITS} bits, got ${bits}.`,
        );
      }
      return 'RS256';
    }
    default:
      throw new KeyError(
        variable,
        `Invalid ${variable}: unsupported key type ${key.asymmetricKeyType ?? 'unknown'}. Expected an HS256 secret, or a P-256, Ed25519 or RSA private key.`,
      );
  }
}

async function importWebCryptoKey(
  key: KeyObject,
  alg: AsymmetricAlgorithm,
  kind: 'public' | 'private',
): Promise<CryptoKey> {
  const jwk = key.export({ format: 'jwk' });
  const usage: webcrypto.KeyUsage[] = kind === 'public' ? ['verify'] : ['sign'];
  const algorithm = {
    ES256: { name: 'ECDSA', namedCurve: 'P-256' },
    EdDSA: { name: 'Ed25519' },
    RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  }[alg];
  return webcrypto.subtle.importKey('jwk', jwk, algorithm, false, usage);
}

function privateKeyFromPem(pem: string, variable: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new KeyError(
      variable,
      `Invalid ${variable}: the PEM text is not a private key (${describe(error)}). Expected a PKCS#8 or SEC1/PKCS#1 private key.`,
    );
  }
  return key;
}

function privateKeyFromJwk(jwk: JWK, variable: string): KeyObject {
  if (typeof jwk.d !== 'string') {
    throw new KeyError(
      variable,
      `Invalid ${variable}: the JWK is a public key. A signing key needs the private member "d".`,
    );
  }
  try {
    return createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (error) {
    throw new KeyError(
      variable,
      `Invalid ${variable}: the JWK is not a usable private key (${describe(error)}).`,
    );
  }
}

function parseJwk(text: string, variable: string): JWK {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new KeyError(
      variable,
      `Invalid ${variable}: the text starts with "{" but is not valid JSON. Expected a JWK.`,
    );
  }
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    typeof (value as JWK).kty !== 'string'
  ) {
    throw new KeyError(variable, `Invalid ${variable}: expected a JWK object with a "kty" member.`);
  }
  return value as JWK;
}

function jwkSecret(jwk: JWK, variable: string): Uint8Array {
  if (typeof jwk.k !== 'string') {
    throw new KeyError(variable, `Invalid ${variable}: an "oct" JWK needs the secret member "k".`);
  }
  try {
    return base64url.decode(jwk.k);
  } catch {
    throw new KeyError(variable, `Invalid ${variable}: the JWK member "k" is not base64url.`);
  }
}

function withoutPrivateMembers(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, ...publicMembers } = jwk;
  return publicMembers;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
