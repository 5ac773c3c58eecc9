/**
 * Every way a request can fail, with the HTTP status both transports send.
 * REST sends `status` in the response line and in the error body; tRPC raises a
 * `TRPCError` with `trpcCode`, whose `data.httpStatus` is the same number.
 */
export const failureKinds = {
  invalid_request: { status: 400, trpcCode: 'BAD_REQUEST' },
  token_missing: { status: 401, trpcCode: 'UNAUTHORIZED' },
  invalid_token: { status: 401, trpcCode: 'UNAUTHORIZED' },
  user_locked: { status: 403, trpcCode: 'FORBIDDEN' },
  not_found: { status: 404, trpcCode: 'NOT_FOUND' },
  method_not_allowed: { status: 405, trpcCode: 'METHOD_NOT_SUPPORTED' },
  signing_failed: { status: 422, trpcCode: 'UNPROCESSABLE_CONTENT' },
  rate_limited: { status: 429, trpcCode: 'TOO_MANY_REQUESTS' },
  internal_error: { status: 500, trpcCode: 'INTERNAL_SERVER_ERROR' },
  store_unavailable: { status: 503, trpcCode: 'SERVICE_UNAVAILABLE' },
} as const;

export type FailureKind = keyof typeof failureKinds;

/** HTTP reason phrases (RFC 9110) for the statuses this service sends. */
export const reasonPhrases = {
  200: 'OK',
  201: 'Created',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
} as const;

export type KnownStatus = keyof typeof reasonPhrases;

/** Returns the reason phrase of an HTTP status, falling back to a generic one for unlisted codes. */
export function reasonPhrase(status: number): string {
  const phrase = (reasonPhrases as Record<number, string>)[status];
  if (phrase !== undefined) return phrase;
  return status >= 500 ? 'Server Error' : 'Client Error';
}

/** Checks whether a value is the name of a failure kind. */
export function isFailureKind(value: unknown): value is FailureKind {
  return typeof value === 'string' && Object.hasOwn(failureKinds, value);
}
