import { errorBodySchema, tokenResponseSchema } from '@tdb/contracts';
import createClient from 'openapi-fetch';

import { rejectedRefresh, unansweredRefresh, unreadableRefresh } from '../refresh-failure.js';
import type { RefreshFunction } from '../token-session.js';
import type { paths } from './openapi.js';

/**
 * Creates the refresh function that calls REST `GET /v1/token` with the token as
 * `Authorization: Bearer`, for a TokenSession that needs no tRPC. REST error bodies carry no
 * stable code, so its errors have no `reason`; the kind comes from the status and challenge.
 */
export function refreshOverRest(): RefreshFunction {
  return async (token, transport) => {
    let response: Response | undefined;
    const client = createClient<paths>({
      baseUrl: transport.baseUrl,
      fetch: async (request: Request) => {
        response = await transport.fetch(request);
        return response;
      },
    });

    const pending = client.GET('/v1/token', { headers: { authorization: `Bearer ${token}` } });
    let result: Awaited<typeof pending>;
    try {
      result = await pending;
    } catch (error) {
      if (response === undefined) throw unansweredRefresh(error);
      throw unreadableRefresh(
        response,
        error instanceof Error ? error.message : String(error),
        error,
      );
    }

    if (result.error !== undefined) {
      const body = errorBodySchema.safeParse(result.error);
      if (!body.success)
        throw unreadableRefresh(result.response, 'the error body is not {status, message, code}');
      throw rejectedRefresh(result.response, body.data.message);
    }

    const parsed = tokenResponseSchema.safeParse(result.data);
    if (!parsed.success)
      throw unreadableRefresh(result.response, 'the body is not {token, expires}', parsed.error);
    return parsed.data;
  };
}
