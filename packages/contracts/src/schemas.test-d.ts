import { describe, expectTypeOf, it } from 'vitest';

import type { FailureKind } from './failures.js';
import type { ErrorBody, RefreshInput, TokenClaims, TokenResponse } from './schemas.js';

describe('contract types', () => {
  it('types the token response', () => {
    expectTypeOf<TokenResponse>().toEqualTypeOf<{ token: string; expires: number }>();
  });

  it('types the error body', () => {
    expectTypeOf<ErrorBody>().toEqualTypeOf<{ status: string; message: string; code: number }>();
  });

  it('makes the refresh input optional', () => {
    expectTypeOf<undefined>().toExtend<RefreshInput>();
    expectTypeOf<{ token: string }>().toExtend<RefreshInput>();
    expectTypeOf<{ token: number }>().not.toExtend<RefreshInput>();
  });

  it('types scope as a list of strings', () => {
    expectTypeOf<TokenClaims['scope']>().toEqualTypeOf<string[]>();
    expectTypeOf<TokenClaims['aud']>().toEqualTypeOf<string | string[]>();
  });

  it('names every failure kind', () => {
    expectTypeOf<'user_locked'>().toExtend<FailureKind>();
    expectTypeOf<'teapot'>().not.toExtend<FailureKind>();
  });
});
