import { describe, expect, it } from 'vitest';

import { readTokenTimes } from './token-times.js';

function tokenWith(payload: unknown): string {
  const encode = (value: string) =>
    btoa(String.fromCharCode(...new TextEncoder().encode(value)))
      .replaceAll('+', '-')
      .replaceAll('/', '_')
      .replace(/=+$/, '');
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return `${encode('{"alg":"HS256","typ":"JWT"}')}.${encode(body)}.c2lnbmF0dXJl`;
}

describe('readTokenTimes', () => {
  it('reads exp and iat', () => {
    expect(readTokenTimes(tokenWith({ sub: 'u', iat: 1_800_000_000, exp: 1_800_003_600 }))).toEqual(
      {
        expires: 1_800_003_600,
        issuedAt: 1_800_000_000,
      },
    );
  });

  it('leaves issuedAt undefined without a numeric iat', () => {
    expect(readTokenTimes(tokenWith({ exp: 10, iat: 'soon' }))).toEqual({
      expires: 10,
      issuedAt: undefined,
    });
  });

  it('decodes payloads with characters outside ASCII', () => {
    expect(readTokenTimes(tokenWith({ sub: 'Ærø ✓', exp: 42 })).expires).toBe(42);
  });

  it.each([
    ['two segments', 'abc.def'],
    ['an empty payload', 'abc..def'],
    ['padding in the payload', `abc.${btoa('{"exp":12}')}.def`],
  ])('rejects %s as not a JWT', (_case, token) => {
    expect(() => readTokenTimes(token)).toThrow(
      new TypeError('invalid token: expected a JWT of 3 dot-separated base64url segments'),
    );
  });

  it('rejects a payload that is not JSON', () => {
    expect(() => readTokenTimes(tokenWith('not json'))).toThrow(
      'invalid token: the payload is not base64url-encoded JSON',
    );
  });

  it('rejects a payload that is not an object', () => {
    expect(() => readTokenTimes(tokenWith([1, 2]))).toThrow(
      'invalid token: the payload is not a JSON object',
    );
  });

  it.each([
    ['missing', {}],
    ['a string', { exp: '1800000000' }],
  ])('rejects an exp claim that is %s', (_case, payload) => {
    expect(() => readTokenTimes(tokenWith(payload))).toThrow(
      'invalid token: the "exp" claim is missing or not a number',
    );
  });
});
