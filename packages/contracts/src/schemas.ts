import { z } from 'zod';

import { MAX_SUBJECT_LENGTH } from './constants.js';

/** Body of a successful refresh: the new token and its `exp` in Unix seconds. */
export const tokenResponseSchema = z
  .object({
    token: z.string().min(1).describe('The new JWT, to send as `Authorization: Bearer <token>`.'),
    expires: z
      .number()
      .int()
      .positive()
      .describe("The new token's `exp` claim: when it expires, in Unix seconds."),
  })
  .meta({ id: 'TokenResponse' });

/** Body of every REST error response. */
export const errorBodySchema = z
  .object({
    status: z.string().describe('The HTTP reason phrase, for example `Unauthorized`.'),
    message: z.string().describe('What went wrong, on one line.'),
    code: z.number().int().describe('The HTTP status code.'),
  })
  .strict()
  .meta({ id: 'ErrorBody' });

/** Input of `token.refresh` over tRPC; REST callers send the same field as a query parameter. */
export const refreshInputSchema = z
  .object({
    token: z
      .string()
      .optional()
      .describe(
        'The token to refresh, when it is not sent as `Authorization: Bearer`. The header is recommended: query strings end up in access logs.',
      ),
  })
  .optional();

/** Claims of a token issued by this service. */
export const tokenClaimsSchema = z.object({
  sub: z.string().min(1).max(MAX_SUBJECT_LENGTH),
  scope: z.array(z.string()),
  iss: z.string().min(1),
  aud: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  iat: z.number().int(),
  exp: z.number().int(),
  nbf: z.number().int().optional(),
  jti: z.string().min(1),
});

export type TokenResponse = z.infer<typeof tokenResponseSchema>;
export type ErrorBody = z.infer<typeof errorBodySchema>;
export type RefreshInput = z.infer<typeof refreshInputSchema>;
export type TokenClaims = z.infer<typeof tokenClaimsSchema>;
