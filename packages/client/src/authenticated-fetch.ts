import { resolveInput } from './resolve-url.js';
import type { FetchFunction, TokenSession } from './token-session.js';

/**
 * Creates a `fetch` that sends the session's current token as `Authorization: Bearer` and
 * refreshes it first when it expires within the margin. After a 401 it retries once, with the
 * newer token when one already exists, or else after one refresh. A relative URL resolves
 * against the base URL. A request to an origin outside `tokenOrigins` rejects with a TypeError,
 * so the token does not leave the service by accident.
 */
export function createAuthenticatedFetch(session: TokenSession): FetchFunction {
  return async (input, init) => {
    const request = new Request(resolveInput(input, session.baseUrl), init);
    const origin = new URL(request.url).origin;
    if (!session.tokenOrigins.has(origin)) {
      throw new TypeError(
        `refusing to send the token to ${origin}: it goes only to ${[...session.tokenOrigins].join(', ')}; add the origin to tokenOrigins to allow it`,
      );
    }

    const token = await session.tokenForCall(request.signal);
    // The clone keeps the original's body readable for a retry.
    const first = await session.send(withToken(request.clone(), token));
    if (first.status !== 401) return first;

    await first.body?.cancel().catch(() => undefined);
    const retryToken = await session.tokenAfterRejection(token, request.signal);
    return session.send(withToken(request, retryToken));
  };
}

function withToken(request: Request, token: string): Request {
  const headers = new Headers(request.headers);
  headers.set('authorization', `Bearer ${token}`);
  return new Request(request, { headers });
}
