import { MAX_SUBJECT_LENGTH, MAX_TOKEN_BYTES } from '@tdb/contracts';
import { compactVerify, errors } from 'jose';

import type { KeyRing } from '../keys/key-ring.js';
import type { VerificationKey } from '../keys/signing-key.js';
import { invalidToken, type ServiceError } from '../service-error.js';

export interface VerifyRules {
  issuer: string;
  audience: string;
  leewaySeconds: number;
  /** How long after `exp` (beyond the leeway) a token is still accepted; 0 outside a refresh. */
  graceSeconds: number;
}

/** The claims of a verified token, normalized: `scope` defaults to an empty list. */
export interface VerifiedClaims {
  sub: string;
  scope: string[];
  iss: string;
  aud: string | string[];
  iat: number;
  exp: number;
  nbf?: number;
  jti?: string;
}

export interface VerifiedToken {
  claims: VerifiedClaims;
  kid: string;
  /** True when the token was accepted only because of the refresh grace. */
  inGrace: boolean;
}

const segmentPattern = /^[A-Za-z0-9_-]+$/;
const forbiddenHeaderParameters = ['jwk', 'jku', 'x5u', 'x5c'] as const;
const acceptedTypes = new Set(['jwt', 'application/jwt']);
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Verifies a compact JWS token against the key ring and the claim rules.
 * Every rejection is a ServiceError of kind `invalid_token` whose message names the
 * header parameter or claim at fault. `nowSeconds` is the current time in Unix seconds.
 */
export async function verifyToken(
  token: string,
  keys: KeyRing,
  rules: VerifyRules,
  nowSeconds: number,
): Promise<VerifiedToken> {
  if (Buffer.byteLength(token, 'utf8') > MAX_TOKEN_BYTES) {
    throw invalidToken(
      'ERR_TOKEN_TOO_LARGE',
      `token too large: the limit is ${MAX_TOKEN_BYTES} bytes`,
    );
  }

  const segments = token.split('.');
  if (segments.length !== 3) {
    throw invalidToken(
      'ERR_JWS_INVALID',
      `token malformed: expected 3 dot-separated segments, got ${segments.length}`,
    );
  }
  const [headerSegment, payloadSegment, signatureSegment] = segments as [string, string, string];

  const header = decodeJsonObject(decodeSegment(headerSegment, 'header'), 'header');
  const key = selectKey(header, keys);
  checkSegment(payloadSegment, 'payload');
  checkSegment(signatureSegment, 'signature');

  let payloadBytes: Uint8Array;
  try {
    ({ payload: payloadBytes } = await compactVerify(token, key.key, { algorithms: [key.alg] }));
  } catch (error) {
    throw joseFailure(error);
  }

  const claims = readClaims(decodeJsonObject(payloadBytes, 'payload'), rules);
  const inGrace = checkTimes(claims, rules, nowSeconds);
  return { claims, kid: key.kid, inGrace };
}

/** Picks the verification key for a token header, after checking every header parameter. */
function selectKey(header: Record<string, unknown>, keys: KeyRing): VerificationKey {
  const alg = header['alg'];
  if (typeof alg !== 'string' || alg === '') {
    throw invalidToken('ERR_JOSE_ALG_NOT_ALLOWED', 'token header has no "alg"', 'alg');
  }
  if (alg.toLowerCase() === 'none') {
    throw invalidToken(
      'ERR_JOSE_ALG_NOT_ALLOWED',
      'alg "none" is not allowed: tokens must be signed',
      'alg',
    );
  }

  if (!allowsAlgorithm(keys, alg)) {
    const allowed = new Set([...keys.verification.values()].map((key) => key.alg));
    throw invalidToken(
      'ERR_JOSE_ALG_NOT_ALLOWED',
      `alg ${JSON.stringify(alg)} is not allowed; expected ${[...allowed].join(' or ')}`,
      'alg',
    );
  }

  const typ = header['typ'];
  if (typeof typ !== 'string' || !acceptedTypes.has(typ.toLowerCase())) {
    throw invalidToken('ERR_JWT_TYP_INVALID', 'header "typ" must be "JWT"', 'typ');
  }

  for (const name of forbiddenHeaderParameters) {
    if (name in header) {
      throw invalidToken(
        'ERR_JOSE_HEADER_REJECTED',
        `header parameter "${name}" is not accepted: keys come from the server's configuration only`,
        name,
      );
    }
  }

  if ('crit' in header) {
    // No extension is supported, so any "crit" entry, and the invalid empty list, is rejected.
    throw invalidToken(
      'ERR_JOSE_CRIT_UNSUPPORTED',
      'header "crit" names extensions that are not supported',
      'crit',
    );
  }

  const kid = header['kid'];
  if (kid !== undefined && typeof kid !== 'string') {
    throw invalidToken('ERR_JWKS_NO_MATCHING_KEY', 'header "kid" must be a string', 'kid');
  }

  const key = kid === undefined ? keys.signing : keys.verification.get(kid);
  if (key === undefined) {
    throw invalidToken('ERR_JWKS_NO_MATCHING_KEY', 'header "kid" names no known key', 'kid');
  }
  if (key.alg !== alg) {
    throw invalidToken(
      'ERR_JOSE_ALG_NOT_ALLOWED',
      `alg ${JSON.stringify(alg)} does not match the key, which is ${key.alg}`,
      'alg',
    );
  }
  return key;
}

/** Reads the claims set, checking every claim's presence, type and expected value. */
function readClaims(payload: Record<string, unknown>, rules: VerifyRules): VerifiedClaims {
  const iss = payload['iss'];
  if (iss === undefined) throw missingClaim('iss');
  if (iss !== rules.issuer)
    throw claimFailure('iss', `"iss" claim must be ${JSON.stringify(rules.issuer)}`);

  const aud = payload['aud'];
  if (aud === undefined) throw missingClaim('aud');
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (audiences.length === 0 || !audiences.every((value) => typeof value === 'string')) {
    throw claimFailure('aud', '"aud" claim must be a string or an array of strings');
  }
  if (!audiences.includes(rules.audience)) {
    throw claimFailure('aud', `"aud" claim must contain ${JSON.stringify(rules.audience)}`);
  }

  const sub = payload['sub'];
  if (sub === undefined) throw missingClaim('sub');
  if (typeof sub !== 'string' || sub === '' || sub.length > MAX_SUBJECT_LENGTH) {
    throw claimFailure(
      'sub',
      `"sub" claim must be a non-empty string of at most ${MAX_SUBJECT_LENGTH} characters`,
    );
  }

  const iat = numericDate(payload, 'iat', true);
  const exp = numericDate(payload, 'exp', true);
  const nbf = numericDate(payload, 'nbf', false);

  // A missing `scope` means no scopes; `null` or any other non-array value is rejected.
  const scope = payload['scope'] === undefined ? [] : payload['scope'];
  if (!Array.isArray(scope) || !scope.every((value) => typeof value === 'string')) {
    throw claimFailure('scope', '"scope" claim must be an array of strings');
  }

  const jti = payload['jti'];
  if (jti !== undefined && typeof jti !== 'string') {
    throw claimFailure('jti', '"jti" claim must be a string');
  }

  const claims: VerifiedClaims = { sub, scope, iss, aud: aud as string | string[], iat, exp };
  if (nbf !== undefined) claims.nbf = nbf;
  if (jti !== undefined) claims.jti = jti;
  return claims;
}

/**
 * Checks `nbf`, `iat` and, last, `exp` against the clock, so the refresh grace only ever
 * applies to a token that passed every other check. Returns true when the grace was needed.
 */
function checkTimes(claims: VerifiedClaims, rules: VerifyRules, now: number): boolean {
  if (claims.nbf !== undefined && claims.nbf > now + rules.leewaySeconds) {
    throw claimFailure(
      'nbf',
      '"nbf" claim is in the future: the token is not valid yet',
      'ERR_JWT_NOT_YET_VALID',
    );
  }
  if (claims.iat > now + rules.leewaySeconds) {
    throw claimFailure('iat', '"iat" claim is in the future');
  }

  // RFC 7519 4.1.4: the current time must be before `exp`, so a token is expired exactly at `exp`.
  if (now < claims.exp + rules.leewaySeconds) return false;
  if (now < claims.exp + rules.leewaySeconds + rules.graceSeconds) return true;
  throw invalidToken('ERR_JWT_EXPIRED', 'token expired', 'exp');
}

function numericDate(payload: Record<string, unknown>, name: string, required: true): number;
function numericDate(
  payload: Record<string, unknown>,
  name: string,
  required: false,
): number | undefined;
function numericDate(
  payload: Record<string, unknown>,
  name: string,
  required: boolean,
): number | undefined {
  const value = payload[name];
  if (value === undefined) {
    if (required) throw missingClaim(name);
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw claimFailure(name, `"${name}" claim must be a number (a NumericDate in seconds)`);
  }
  return value;
}

function missingClaim(name: string): ServiceError {
  return claimFailure(name, `token has no "${name}" claim`, 'ERR_JWT_CLAIM_MISSING');
}

function claimFailure(
  claim: string,
  message: string,
  code = 'ERR_JWT_CLAIM_VALIDATION_FAILED',
): ServiceError {
  return invalidToken(code, message, claim);
}

/** Tells whether any verification key uses `alg`, without allocating on the hot path. */
function allowsAlgorithm(keys: KeyRing, alg: string): boolean {
  for (const key of keys.verification.values()) {
    if (key.alg === alg) return true;
  }
  return false;
}

/**
 * Checks that a segment is canonical unpadded base64url, so one token has one spelling only.
 * That holds when every character is in the alphabet, the length is not 1 more than a multiple
 * of 4, and the bits the last character carries beyond the final byte are zero. The check
 * decodes nothing, because jose decodes the payload and the signature itself.
 */
function checkSegment(segment: string, part: 'header' | 'payload' | 'signature'): void {
  const remainder = segment.length % 4;
  // Two characters carry 12 bits for 1 byte, three carry 18 bits for 2 bytes.
  let unusedBits = 0;
  if (remainder === 2) unusedBits = 0b1111;
  if (remainder === 3) unusedBits = 0b11;
  const canonical =
    remainder !== 1 &&
    segmentPattern.test(segment) &&
    (base64urlValue(segment.charCodeAt(segment.length - 1)) & unusedBits) === 0;
  if (!canonical) {
    throw invalidToken(
      'ERR_JWS_INVALID',
      `token malformed: the ${part} segment is not canonical base64url`,
    );
  }
}

/**
 * Checks a segment as `checkSegment` does, then decodes it. Node's own base64url decoder is
 * exact here, because the check admits canonical input only.
 */
function decodeSegment(segment: string, part: 'header'): Uint8Array {
  checkSegment(segment, part);
  return Buffer.from(segment, 'base64url');
}

/** Returns the 6-bit value of a base64url character already matched by `segmentPattern`. */
function base64urlValue(code: number): number {
  if (code >= 97) return code - 71; // a-z: 26-51
  if (code >= 65) return code === 95 ? 63 : code - 65; // A-Z: 0-25, and _: 63
  if (code >= 48) return code + 4; // 0-9: 52-61
  return 62; // -
}

function decodeJsonObject(bytes: Uint8Array, part: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(textDecoder.decode(bytes));
  } catch {
    throw invalidToken('ERR_JWS_INVALID', `token malformed: the ${part} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidToken('ERR_JWS_INVALID', `token malformed: the ${part} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function joseFailure(error: unknown): ServiceError {
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return invalidToken('ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'signature verification failed');
  }
  if (error instanceof errors.JOSEError) {
    return invalidToken(error.code, `token rejected: ${error.message}`);
  }
  return invalidToken('ERR_JWS_INVALID', 'token could not be verified');
}
