import { USER_LOCKED_MESSAGE } from '@tdb/contracts';

import type { KeyRing } from '../keys/key-ring.js';
import { invalidToken, ServiceError } from '../service-error.js';
import { StoreUnavailableError, type User, type UserStore } from '../store/user-store.js';
import type { IssuedToken, TokenSigner } from '../tokens/sign-token.js';
import { type VerifyRules, verifyToken } from '../tokens/verify-token.js';

export interface RefreshDependencies {
  keys: KeyRing;
  store: UserStore;
  signer: TokenSigner;
  rules: VerifyRules;
  issuer: string;
  audience: string;
  lifetimeSeconds: number;
  /** Current time in milliseconds; tests freeze it. */
  now: () => number;
}

export interface RefreshOutcome extends IssuedToken {
  userId: string;
}

/**
 * Exchanges a valid token for a new one: verifies it, reads the user, keeps only the
 * scopes the user still has, and signs a token with a fresh `jti` and lifetime.
 */
export async function refreshToken(
  token: string,
  deps: RefreshDependencies,
): Promise<RefreshOutcome> {
  const nowSeconds = deps.now() / 1000;
  const { claims } = await verifyToken(token, deps.keys, deps.rules, nowSeconds);

  let user: User | undefined;
  try {
    user = await deps.store.findUser(claims.sub);
  } catch (error) {
    throw storeFailure(error);
  }
  if (user === undefined) {
    throw invalidToken('ERR_USER_NOT_FOUND', 'user not found', 'sub');
  }
  if (user.locked) {
    throw new ServiceError('user_locked', 'ERR_USER_LOCKED', USER_LOCKED_MESSAGE);
  }

  // Each scope the user still has, once, in the token's order. A scope leaves the set when taken.
  const granted = new Set(user.scopes);
  const scope: string[] = [];
  for (const name of claims.scope) {
    if (granted.delete(name)) scope.push(name);
  }

  let issued: IssuedToken;
  try {
    issued = await deps.signer({
      sub: user.id,
      scope,
      issuer: deps.issuer,
      audience: deps.audience,
      iat: Math.floor(nowSeconds),
      lifetimeSeconds: deps.lifetimeSeconds,
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ServiceError(
      'signing_failed',
      'ERR_SIGNING_FAILED',
      `token signing failed: ${reason}`,
      {
        cause: error,
      },
    );
  }
  return { token: issued.token, expires: issued.expires, userId: user.id };
}

/** Turns a store that cannot be reached into the 503 failure. Other errors stay as they are. */
function storeFailure(error: unknown): unknown {
  if (!(error instanceof StoreUnavailableError)) return error;
  return new ServiceError(
    'store_unavailable',
    'ERR_STORE_UNAVAILABLE',
    'user store unavailable, try again later',
    { cause: error },
  );
}
