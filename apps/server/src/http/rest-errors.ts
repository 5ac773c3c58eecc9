import { errorBody, type failureKinds, REALM } from '@tdb/contracts';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { FastifyReply } from 'fastify';

import { ServiceError } from '../service-error.js';

/** A failure ready to send: status, one-line message and the stable code for logs. */
export interface HttpFailure {
  status: number;
  message: string;
  reason: string;
  kind: keyof typeof failureKinds | undefined;
}

/** Maps anything a handler threw to the status and message of the contract. */
export function toHttpFailure(error: unknown): HttpFailure {
  const cause =
    error instanceof TRPCError && error.cause instanceof ServiceError ? error.cause : error;

  if (cause instanceof ServiceError) {
    return { status: cause.status, message: cause.message, reason: cause.code, kind: cause.kind };
  }
  if (error instanceof TRPCError) {
    const status = getHTTPStatusCodeFromError(error);
    if (status < 500)
      return { status, message: error.message, reason: error.code, kind: undefined };
  }
  return { status: 500, message: 'internal error', reason: 'ERR_INTERNAL', kind: 'internal_error' };
}

/** Builds the `WWW-Authenticate` challenge of RFC 6750 section 3 for a failure, if it needs one. */
export function bearerChallenge(
  failure: Pick<HttpFailure, 'kind' | 'message'>,
): string | undefined {
  switch (failure.kind) {
    case 'token_missing':
      return `Bearer realm="${REALM}"`;
    case 'invalid_token':
      return `Bearer realm="${REALM}", error="invalid_token", error_description="${quotable(failure.message)}"`;
    case 'invalid_request':
      return `Bearer realm="${REALM}", error="invalid_request", error_description="${quotable(failure.message)}"`;
    default:
      return undefined;
  }
}

/** Sends the contract error body with the challenge a 401 or 400 needs. */
export function sendFailure(reply: FastifyReply, failure: HttpFailure): FastifyReply {
  const challenge = bearerChallenge(failure);
  if (challenge !== undefined) reply.header('www-authenticate', challenge);
  return reply
    .code(failure.status)
    .type('application/json; charset=utf-8')
    .send(errorBody(failure.status, failure.message));
}

/**
 * Makes a message fit an RFC 6750 `error_description`, which allows printable ASCII except
 * `"` and `\`: double quotes become single quotes, anything else outside the set becomes `?`.
 */
function quotable(message: string): string {
  return message.replaceAll('"', "'").replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '?');
}
