import type { FailureKind } from '@tdb/contracts';

/**
 * Why a refresh failed: a failure kind of the service (`invalid_token`, `user_locked`, ...),
 * `network_error` when no response arrived, or `invalid_response` when the response was not
 * the service's.
 */
export type RefreshFailureKind = FailureKind | 'network_error' | 'invalid_response';

export interface TokenRefreshErrorDetails {
  kind: RefreshFailureKind;
  /** HTTP status of the refresh response; undefined when none arrived. */
  status?: number | undefined;
  /** Stable code such as `ERR_JWT_EXPIRED`; tRPC responses carry it, REST responses do not. */
  reason?: string | undefined;
  /** Seconds from the `Retry-After` header of a 429 or 503 response. */
  retryAfterSeconds?: number | undefined;
  cause?: unknown;
}

/**
 * A refresh that failed. Every call waiting for the same refresh receives this same instance.
 * A terminal failure (401: the token is invalid or missing; 403: the user is locked) stops the
 * client: later calls reject with the same instance and send nothing until a new token is set.
 */
export class TokenRefreshError extends Error {
  override name = 'TokenRefreshError';
  readonly kind: RefreshFailureKind;
  readonly status: number | undefined;
  readonly reason: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(message: string, details: TokenRefreshErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = details.kind;
    this.status = details.status;
    this.reason = details.reason;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }

  /** True for 401 and 403: refreshing this token can never succeed, so the client stops. */
  get terminal(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

/** Finds the TokenRefreshError in an error or its cause, as tRPC calls wrap it in a TRPCClientError. */
export function findTokenRefreshError(error: unknown): TokenRefreshError | undefined {
  if (error instanceof TokenRefreshError) return error;
  if (error instanceof Error && error.cause instanceof TokenRefreshError) return error.cause;
  return undefined;
}

/** Reads a `Retry-After` header given in seconds; the HTTP-date form is not used by this service. */
export function retryAfterSeconds(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim());
}
