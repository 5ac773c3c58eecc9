export { createAuthenticatedFetch } from './authenticated-fetch.js';
export { createTdbClient, type TdbClient, type TdbClientOptions } from './create-client.js';
export { DEFAULT_REFRESH_MARGIN_SECONDS } from './session-options.js';
export {
  findTokenRefreshError,
  type RefreshFailureKind,
  TokenRefreshError,
  type TokenRefreshErrorDetails,
} from './token-refresh-error.js';
export {
  type FetchFunction,
  type RefreshFunction,
  type RefreshTransport,
  TokenSession,
  type TokenSessionOptions,
} from './token-session.js';
export { readTokenTimes, type TokenTimes } from './token-times.js';
export { refreshOverTrpc } from './trpc-refresh.js';
