import { USER_LOCKED_MESSAGE } from '@tdb/contracts';

import type { KeyRing } from '../keys/key-ring.js';
import { invalidToken, ServiceError } from '../service-error.js';
import { StoreUnavailableError, type UserStore } from '../store/user-store.js';
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

  const user = await findUser(deps.store, claims.sub);
  if (user === undefined) {
    throw invalidToken('ERR_USER_NOT_FOUND', 'user not found', 'sub');
  }
  if (user.locked) {
    throw new ServiceError('user_locked', 'ERR_USER_LOCKED', USER_LOCKED_MESSAGE);
  }

  const granted = new Set(user.scopes);
  const scope = [...new Set(claims.scope)].filter((name) => granted.has(name));

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
  return { ...issued, userId: user.id };
}

async function findUser(store: UserStore, id: string) {
  try {
    return await store.findUser(id);
  } catch (error) {
    if (error instanceof StoreUnavailableError) {
      throw new ServiceError(
        'store_unavailable',
        'ERR_STORE_UNAVAILABLE',
        'user store unavailable, try again later',
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}
