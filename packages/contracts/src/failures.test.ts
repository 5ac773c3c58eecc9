import { describe, expect, it } from 'vitest';

import { errorBody } from './error-body.js';
import { failureKinds, isFailureKind, reasonPhrase, reasonPhrases } from './failures.js';
import { errorBodySchema } from './schemas.js';

describe('failureKinds', () => {
  it.each(Object.entries(failureKinds))(
    '%s has an error status with a listed reason phrase',
    (_kind, entry) => {
      expect(entry.status).toBeGreaterThanOrEqual(400);
      expect(reasonPhrase(entry.status)).toBe(reasonPhrases[entry.status]);
    },
  );

  it('maps token failures to 401 and a locked user to 403', () => {
    expect(failureKinds.token_missing.status).toBe(401);
    expect(failureKinds.invalid_token.status).toBe(401);
    expect(failureKinds.user_locked.status).toBe(403);
    expect(failureKinds.signing_failed.status).toBe(422);
    expect(failureKinds.store_unavailable.status).toBe(503);
  });

  it('recognizes only its own kinds', () => {
    expect(isFailureKind('invalid_token')).toBe(true);
    expect(isFailureKind('toString')).toBe(false);
    expect(isFailureKind(401)).toBe(false);
  });
});

describe('errorBody', () => {
  it('builds the body of the original v1 service', () => {
    expect(errorBody(403, 'User is locked')).toEqual({
      status: 'Forbidden',
      message: 'User is locked',
      code: 403,
    });
  });

  it('folds a multi-line message onto one line', () => {
    const body = errorBody(401, 'token\nexpired\r\n  now ');
    expect(body.message).toBe('token expired now');
  });

  it('produces bodies the schema accepts', () => {
    expect(errorBodySchema.parse(errorBody(422, 'token signing failed'))).toEqual({
      status: 'Unprocessable Entity',
      message: 'token signing failed',
      code: 422,
    });
  });

  it('falls back to a generic phrase for unlisted statuses', () => {
    expect(reasonPhrase(418)).toBe('Client Error');
    expect(reasonPhrase(599)).toBe('Server Error');
  });
});
