import { describe, expect, it } from 'vitest';

import {
  errorBodySchema,
  refreshInputSchema,
  tokenClaimsSchema,
  tokenResponseSchema,
} from './schemas.js';

const claims = {
  sub: 'user-1',
  scope: ['read'],
  iss: 'tdb',
  aud: 'tdb-api',
  iat: 1_800_000_000,
  exp: 1_800_003_600,
  jti: 'b7c1',
};

describe('tokenResponseSchema', () => {
  it('accepts a token and an integer expiry', () => {
    expect(tokenResponseSchema.parse({ token: 'a.b.c', expires: 1_800_003_600 })).toEqual({
      token: 'a.b.c',
      expires: 1_800_003_600,
    });
  });

  it('rejects a fractional expiry and an empty token', () => {
    expect(tokenResponseSchema.safeParse({ token: 'a.b.c', expires: 1.5 }).success).toBe(false);
    expect(tokenResponseSchema.safeParse({ token: '', expires: 1 }).success).toBe(false);
  });
});

describe('errorBodySchema', () => {
  it('rejects extra members such as a stack', () => {
    const result = errorBodySchema.safeParse({
      status: 'Forbidden',
      message: 'x',
      code: 403,
      stack: 'at',
    });
    expect(result.success).toBe(false);
  });
});

describe('tokenClaimsSchema', () => {
  it('accepts the claims this service issues', () => {
    expect(tokenClaimsSchema.parse(claims)).toEqual(claims);
  });

  it.each([
    ['an empty sub', { sub: '' }],
    ['a sub over 255 characters', { sub: 'x'.repeat(256) }],
    ['a scope that is a string', { scope: 'read' }],
    ['an exp given as a string', { exp: '1800003600' }],
    ['an empty audience list', { aud: [] }],
  ])('rejects %s', (_case, change) => {
    expect(tokenClaimsSchema.safeParse({ ...claims, ...change }).success).toBe(false);
  });
});

describe('refreshInputSchema', () => {
  it('accepts no input, an empty object and a token', () => {
    expect(refreshInputSchema.parse(undefined)).toBeUndefined();
    expect(refreshInputSchema.parse({})).toEqual({});
    expect(refreshInputSchema.parse({ token: 'a.b.c' })).toEqual({ token: 'a.b.c' });
  });

  it('rejects a token that is not a string', () => {
    expect(refreshInputSchema.safeParse({ token: 42 }).success).toBe(false);
  });
});
