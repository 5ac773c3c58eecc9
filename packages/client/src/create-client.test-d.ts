import type { FailureKind, TokenResponse } from '@tdb/contracts';
import type { AppRouter } from '@tdb/server';
import type { TRPCClientError } from '@trpc/client';
import { describe, expectTypeOf, it } from 'vitest';

import { createTdbClient } from './create-client.js';
import { createRestClient, type ErrorBody } from './rest/index.js';

describe('tRPC client types', () => {
  const client = createTdbClient({ baseUrl: 'http://127.0.0.1:8080', token: 'a.b.c' });

  it('types token.refresh end to end', () => {
    expectTypeOf(client.trpc.token.refresh.query).returns.resolves.toEqualTypeOf<TokenResponse>();
    type RefreshInput = Parameters<typeof client.trpc.token.refresh.query>[0];
    expectTypeOf<{ token: string }>().toExtend<RefreshInput>();
    expectTypeOf<undefined>().toExtend<RefreshInput>();
    expectTypeOf<{ token: number }>().not.toExtend<RefreshInput>();
  });

  it('rejects a wrong input at compile time', () => {
    // @ts-expect-error the token input is a string
    client.trpc.token.refresh.query({ token: 42 });
    // @ts-expect-error token.refresh is a query, not a mutation
    client.trpc.token.refresh.mutate();
    // @ts-expect-error the router has no such procedure
    client.trpc.token.revoke.query();
  });

  it('types the error data the service sends', () => {
    expectTypeOf<
      NonNullable<TRPCClientError<AppRouter>['data']>['kind']
    >().toEqualTypeOf<FailureKind | null>();
    expectTypeOf<
      NonNullable<TRPCClientError<AppRouter>['data']>['httpStatus']
    >().toEqualTypeOf<number>();
  });
});

describe('REST client types', () => {
  const rest = createRestClient({ baseUrl: 'http://127.0.0.1:8080' });

  it('types success and error bodies', async () => {
    const { data, error } = await rest.GET('/v1/token');

    expectTypeOf(data).toEqualTypeOf<{ token: string; expires: number } | undefined>();
    expectTypeOf(error).toEqualTypeOf<ErrorBody | undefined>();
    expectTypeOf<ErrorBody>().toEqualTypeOf<{ status: string; message: string; code: number }>();
  });

  it('rejects an unknown path or parameter at compile time', () => {
    // @ts-expect-error the document has no such path
    rest.GET('/v1/tokens');
    // @ts-expect-error the token parameter is a string
    rest.GET('/v1/token', { params: { query: { token: 1 } } });
  });
});
