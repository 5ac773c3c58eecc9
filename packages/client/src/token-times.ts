/** The time claims of a token, read from its payload without verifying the signature. */
export interface TokenTimes {
  /** The `exp` claim in Unix seconds. */
  expires: number;
  /** The `iat` claim in Unix seconds, or undefined when the token has none. */
  issuedAt: number | undefined;
}

const segmentPattern = /^[A-Za-z0-9_-]+$/;
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads `exp` and `iat` from a compact JWT. The client only schedules refreshes with these
 * values; the server verifies every token it receives, so nothing here is trusted for access.
 * Throws a TypeError when the value is not a JWT with a numeric `exp` claim.
 */
export function readTokenTimes(token: string): TokenTimes {
  const segments = token.split('.');
  const payloadSegment = segments[1];
  if (
    segments.length !== 3 ||
    payloadSegment === undefined ||
    !segmentPattern.test(payloadSegment)
  ) {
    throw new TypeError('invalid token: expected a JWT of 3 dot-separated base64url segments');
  }

  let payload: unknown;
  try {
    payload = JSON.parse(textDecoder.decode(decodeBase64Url(payloadSegment)));
  } catch {
    throw new TypeError('invalid token: the payload is not base64url-encoded JSON');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new TypeError('invalid token: the payload is not a JSON object');
  }

  const { exp, iat } = payload as Record<string, unknown>;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    throw new TypeError('invalid token: the "exp" claim is missing or not a number');
  }
  const issuedAt = typeof iat === 'number' && Number.isFinite(iat) ? iat : undefined;
  return { expires: exp, issuedAt };
}

/** Decodes unpadded base64url with `atob`, which Node 20 and every browser provide. */
function decodeBase64Url(segment: string): Uint8Array {
  const base64 = segment.replaceAll('-', '+').replaceAll('_', '/');
  const binary = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '='));
  return Uint8Array.from(binary, (character) => character.charCodeAt(0));
}
