import { type FailureKind, failureKinds, isFailureKind } from '@tdb/contracts';

import {
  type RefreshFailureKind,
  retryAfterSeconds,
  TokenRefreshError,
} from './token-refresh-error.js';

export interface RejectionFields {
  /** The failure kind the response names (tRPC's `data.kind`); derived from the status otherwise. */
  kind?: unknown;
  /** The stable code the response names (tRPC's `data.reason`). */
  reason?: unknown;
  cause?: unknown;
}

/** Builds the error for a refresh that the service rejected with an error status and message. */
export function rejectedRefresh(
  response: Pick<Response, 'status' | 'headers'>,
  message: string,
  fields: RejectionFields = {},
): TokenRefreshError {
  const kind = isFailureKind(fields.kind)
    ? fields.kind
    : kindOfStatus(response.status, response.headers.get('www-authenticate'));
  return new TokenRefreshError(`token refresh failed with status ${response.status}: ${message}`, {
    kind,
    status: response.status,
    reason: typeof fields.reason === 'string' ? fields.reason : undefined,
    retryAfterSeconds: retryAfterSeconds(response.headers.get('retry-after')),
    cause: fields.cause,
  });
}

/** Builds the error for a refresh response that is not the service's success or error body. */
export function unreadableRefresh(
  response: Pick<Response, 'status' | 'headers'> | undefined,
  detail: string,
  cause?: unknown,
): TokenRefreshError {
  const status = response?.status;
  const where = status === undefined ? '' : ` (status ${status})`;
  return new TokenRefreshError(`token refresh returned an unreadable response${where}: ${detail}`, {
    kind: 'invalid_response',
    status,
    retryAfterSeconds: retryAfterSeconds(response?.headers.get('retry-after') ?? null),
    cause,
  });
}

/** Builds the error for a refresh request that got no response at all. */
export function unansweredRefresh(cause: unknown): TokenRefreshError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new TokenRefreshError(`token refresh failed: no response from the service (${detail})`, {
    kind: 'network_error',
    cause,
  });
}

/**
 * Derives the failure kind from a status. A 401 is `token_missing` when its Bearer challenge
 * names no error (RFC 6750 section 3.1) and `invalid_token` otherwise.
 */
function kindOfStatus(status: number, challenge: string | null): RefreshFailureKind {
  if (status === 401) {
    const namesNoError = challenge !== null && !/\berror=/.test(challenge);
    return namesNoError ? 'token_missing' : 'invalid_token';
  }
  const match = Object.entries(failureKinds).find(([, entry]) => entry.status === status);
  return match === undefined ? 'invalid_response' : (match[0] as FailureKind);
}
