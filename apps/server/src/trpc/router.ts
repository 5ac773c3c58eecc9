import {
  type FailureKind,
  failureKinds,
  refreshInputSchema,
  TOKEN_PATH,
  type TokenResponse,
  tokenResponseSchema,
  toOneLine,
} from '@tdb/contracts';
import { type AnyProcedure, initTRPC, TRPCError } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { ZodError } from 'zod';

import { selectToken } from '../http/credentials.js';
import { refreshToken } from '../refresh/refresh-token.js';
import { ServiceError } from '../service-error.js';
import type { Context } from './context.js';

/** The error statuses of the refresh operation, documented in the OpenAPI document. */
export const refreshErrorStatuses = [400, 401, 403, 405, 422, 429, 503] as const;

const t = initTRPC
  .context<Context>()
  .meta<OpenApiMeta>()
  .create({
    // Stacks never leave the process, whatever the value of NODE_ENV.
    isDev: false,
    errorFormatter({ shape, error }) {
      const cause = error.cause;
      const kind: FailureKind | null = cause instanceof ServiceError ? cause.kind : null;
      const reason = cause instanceof ServiceError ? cause.code : null;
      const message =
        cause instanceof ZodError
          ? `invalid input: ${zodSummary(cause)}`
          : toOneLine(shape.message);
      return { ...shape, message, data: { ...shape.data, kind, reason } };
    },
  });

const refresh = t.procedure
  .meta({
    openapi: {
      method: 'GET',
      path: TOKEN_PATH,
      protect: true,
      summary: 'Refresh a token',
      description:
        'Exchanges a valid token for a new one with a fresh lifetime. Send the token as `Authorization: Bearer <token>` (recommended) or as the `token` query parameter, never both.',
      tags: ['token'],
      successDescription: 'Token successfully created',
      errorResponses: {},
    },
  })
  .input(refreshInputSchema)
  .output(tokenResponseSchema)
  .query(async ({ ctx, input }) => {
    const credentials =
      input?.token === undefined
        ? ctx.credentials
        : { ...ctx.credentials, tokens: [...ctx.credentials.tokens, input.token] };

    try {
      const outcome = await refreshToken(selectToken(credentials), ctx.services);
      ctx.outcome = outcome;
      return { token: outcome.token, expires: outcome.expires };
    } catch (error) {
      throw toTRPCError(error);
    }
  });

export const appRouter = t.router({
  token: t.router({ refresh }),
});

export type AppRouter = typeof appRouter;

// The router contains this same procedure object. Its declared type hides the call signature.
const refreshProcedure = refresh as unknown as AnyProcedure;
const noInput = async () => undefined;

/**
 * Runs the `token.refresh` procedure with no input, as tRPC's server-side caller does, through
 * the same middlewares and parsers, but without building a caller per request.
 */
export async function runRefresh(ctx: Context): Promise<TokenResponse> {
  return (await refreshProcedure({
    path: 'token.refresh',
    ctx,
    type: 'query',
    getRawInput: noInput,
    signal: undefined,
    batchIndex: 0,
  })) as TokenResponse;
}

/** Wraps a ServiceError in the TRPCError whose code has the same HTTP status. */
export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError) return error;
  if (error instanceof ServiceError) {
    return new TRPCError({
      code: failureKinds[error.kind].trpcCode,
      message: error.message,
      cause: error,
    });
  }
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'internal error', cause: error });
}

function zodSummary(error: ZodError): string {
  const first = error.issues[0];
  if (first === undefined) return 'invalid value';
  const where = first.path.length > 0 ? first.path.join('.') : 'input';
  return `${where}: ${first.message}`;
}
