import { randomUUID } from 'node:crypto';

import { SignJWT } from 'jose';

import type { SigningKey } from '../keys/signing-key.js';

export interface TokenRequest {
  sub: string;
  scope: string[];
  issuer: string;
  audience: string;
  /** Issue time in Unix seconds. */
  iat: number;
  lifetimeSeconds: number;
}

export interface IssuedToken {
  token: string;
  /** The token's `exp` claim in Unix seconds. */
  expires: number;
}

/** Signs a token; tests substitute one that fails to prove the 422 path. */
export type TokenSigner = (request: TokenRequest) => Promise<IssuedToken>;

/** Creates the signer that issues tokens with the given key: header `{alg, typ, kid}`, a fresh `jti`. */
export function createTokenSigner(key: SigningKey): TokenSigner {
  const header = { alg: key.alg, typ: 'JWT', kid: key.kid };

  return async (request) => {
    const expires = request.iat + request.lifetimeSeconds;
    const token = await new SignJWT({ scope: request.scope })
      .setProtectedHeader(header)
      .setSubject(request.sub)
      .setIssuer(request.issuer)
      .setAudience(request.audience)
      .setIssuedAt(request.iat)
      .setExpirationTime(expires)
      .setJti(randomUUID())
      .sign(key.signingKey);
    return { token, expires };
  };
}
