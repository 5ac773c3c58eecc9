import type { TokenResponse } from '@tdb/contracts';
import type { AppRouter } from '@tdb/server';
import {
  createTRPCClient,
  httpLink,
  type Operation,
  splitLink,
  type TRPCClient,
  TRPCClientError,
  type TRPCLink,
} from '@trpc/client';
import { observable } from '@trpc/server/observable';

import { createAuthenticatedFetch } from './authenticated-fetch.js';
import { findTokenRefreshError } from './token-refresh-error.js';
import { type FetchFunction, TokenSession, type TokenSessionOptions } from './token-session.js';
import { refreshOverTrpc, TRPC_PATH } from './trpc-refresh.js';

export type TdbClientOptions = Omit<TokenSessionOptions, 'refresh'>;

export interface TdbClient {
  /**
   * The typed tRPC client. Every call sends the current token and follows the refresh rules.
   * `token.refresh` without input refreshes the client's own token, joining a refresh already
   * under way, and returns the new one.
   */
  readonly trpc: TRPCClient<AppRouter>;
  /** A `fetch` for the API's other endpoints that sends the current token and keeps it fresh. */
  readonly fetch: FetchFunction;
  readonly session: TokenSession;
  /** The token in use. */
  readonly token: string;
  /** The `exp` claim of the token in use, in Unix seconds. */
  readonly expires: number;
  /** Refreshes the token now, or joins the refresh under way; see `TokenSession.refresh`. */
  refresh(): Promise<TokenResponse>;
  /** Switches to a token obtained elsewhere and clears a terminal failure. */
  setToken(token: string): void;
  /** Stops the background timer. */
  close(): void;
}

/**
 * Creates a client for the token service from its base URL and a first token. It refreshes the
 * token over tRPC before it expires, for tRPC calls and for its authenticated `fetch` alike.
 */
export function createTdbClient(options: TdbClientOptions): TdbClient {
  const session = new TokenSession({ ...options, refresh: refreshOverTrpc() });
  const authenticatedFetch = createAuthenticatedFetch(session);
  const url = `${session.baseUrl}${TRPC_PATH}`;

  const trpc = createTRPCClient<AppRouter>({
    links: [
      sessionLink(session),
      splitLink({
        condition: sendsOwnToken,
        // A token given as input must travel alone: the header as well would be a 400.
        true: httpLink({
          url,
          fetch: (input, init) => session.send(new Request(input as Request, init as RequestInit)),
        }),
        false: httpLink({
          url,
          fetch: (input, init) => authenticatedFetch(input as Request, init as RequestInit),
        }),
      }),
    ],
  });

  return {
    trpc,
    fetch: authenticatedFetch,
    session,
    get token() {
      return session.token;
    },
    get expires() {
      return session.expires;
    },
    refresh: () => session.refresh(),
    setToken: (token) => session.setToken(token),
    close: () => session.close(),
  };
}

/**
 * Serves `token.refresh` without input from the session's shared refresh. Turns a failed refresh
 * into a TRPCClientError whose `cause` is the TokenRefreshError that every waiting call shares.
 * Its `data` is what the service sent for the refresh (`httpStatus`, `kind`, `reason`), if any.
 */
function sessionLink(session: TokenSession): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        if (refreshesOwnToken(op)) {
          session.refresh().then(
            (data) => {
              observer.next({ result: { type: 'data', data } });
              observer.complete();
            },
            (error: unknown) => observer.error(toClientError(error)),
          );
          return;
        }

        const subscription = next(op).subscribe({
          next: (value) => observer.next(value),
          error: (error) => observer.error(toClientError(error)),
          complete: () => observer.complete(),
        });
        return () => subscription.unsubscribe();
      });
}

function toClientError(error: unknown): TRPCClientError<AppRouter> {
  const refreshError = findTokenRefreshError(error);
  if (refreshError === undefined) return TRPCClientError.from<AppRouter>(error as Error);

  const served =
    refreshError.cause instanceof TRPCClientError ? refreshError.cause.shape : undefined;
  return new TRPCClientError<AppRouter>(refreshError.message, {
    cause: refreshError,
    ...(served === undefined || served === null ? {} : { result: { error: served } }),
  });
}

function refreshesOwnToken(op: Operation): boolean {
  return op.path === 'token.refresh' && op.type === 'query' && inputToken(op.input) === undefined;
}

function sendsOwnToken(op: Operation): boolean {
  return op.path === 'token.refresh' && inputToken(op.input) !== undefined;
}

function inputToken(input: unknown): unknown {
  if (typeof input !== 'object' || input === null) return undefined;
  return (input as { token?: unknown }).token;
}
