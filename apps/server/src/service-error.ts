import { type FailureKind, failureKinds, toOneLine } from '@tdb/contracts';

/**
 * A failure with a stable kind (which decides the HTTP status on both transports),
 * a stable machine code such as `ERR_JWT_EXPIRED`, and a one-line message for the caller.
 */
export class ServiceError extends Error {
  override name = 'ServiceError';
  readonly status: number;

  constructor(
    readonly kind: FailureKind,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(toOneLine(message), options);
    this.status = failureKinds[kind].status;
  }
}

/** Creates the error for a token rejected with `error="invalid_token"`, naming the claim or header at fault. */
export function invalidToken(code: string, message: string, claim?: string): ServiceError {
  const error = new ServiceError('invalid_token', code, message);
  if (claim !== undefined) Object.assign(error, { claim });
  return error;
}
