import { TOKEN_PATH } from '@tdb/contracts';
import type { FastifyRequest } from 'fastify';

/** The tRPC plugin's route; its `path` parameter names the procedure, or several for a batch. */
const trpcRoute = '/trpc/:path';
const trpcRefreshProcedure = 'token.refresh';

export type RefreshTransport = 'rest' | 'trpc';

/**
 * Returns the transport of a refresh request, or undefined for any other request. A tRPC
 * batch counts as a refresh when one of its comma-separated procedures is `token.refresh`.
 */
export function refreshTransport(request: FastifyRequest): RefreshTransport | undefined {
  const route = request.routeOptions.url;
  if (route === TOKEN_PATH) return request.method === 'GET' ? 'rest' : undefined;

  if (route === trpcRoute) {
    const procedures = String((request.params as { path?: unknown }).path ?? '').split(',');
    if (procedures.includes(trpcRefreshProcedure)) return 'trpc';
  }
  return undefined;
}
