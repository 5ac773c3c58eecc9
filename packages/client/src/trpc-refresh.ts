import { tokenResponseSchema } from '@tdb/contracts';
import type { AppRouter } from '@tdb/server';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';

import { rejectedRefresh, unansweredRefresh, unreadableRefresh } from './refresh-failure.js';
import type { RefreshFunction } from './token-session.js';

/** The path of the tRPC endpoint under the base URL. */
export const TRPC_PATH = '/trpc';

/**
 * Creates the refresh function that calls the `token.refresh` query over tRPC with the token
 * as `Authorization: Bearer`, and turns every failure into a TokenRefreshError carrying the
 * service's `kind` and `reason`.
 */
export function refreshOverTrpc(): RefreshFunction {
  return async (token, transport) => {
    let response: Response | undefined;
    const client = createTRPCClient<AppRouter>({
      links: [
        httpLink({
          url: `${transport.baseUrl}${TRPC_PATH}`,
          headers: { authorization: `Bearer ${token}` },
          fetch: async (input, init) => {
            response = await transport.fetch(input as Request | string | URL, init as RequestInit);
            return response;
          },
        }),
      ],
    });

    let data: unknown;
    try {
      data = await client.token.refresh.query();
    } catch (error) {
      throw refreshErrorOf(error, response);
    }

    const parsed = tokenResponseSchema.safeParse(data);
    if (!parsed.success) {
      throw unreadableRefresh(response, 'the result is not {token, expires}', parsed.error);
    }
    return parsed.data;
  };
}

function refreshErrorOf(error: unknown, response: Response | undefined) {
  if (response === undefined)
    return unansweredRefresh(error instanceof TRPCClientError ? (error.cause ?? error) : error);

  if (error instanceof TRPCClientError && error.data?.httpStatus !== undefined) {
    const data = error.data as { kind?: unknown; reason?: unknown };
    return rejectedRefresh(response, error.message, {
      kind: data.kind,
      reason: data.reason,
      cause: error,
    });
  }
  // A response arrived but tRPC could not read it, such as an HTML page from a proxy.
  const detail = error instanceof Error ? error.message : String(error);
  return unreadableRefresh(response, detail, error);
}
