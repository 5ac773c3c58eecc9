// Besides the app, the router, key ring, store and signer are exported so the benchmark can
// serve `token.refresh` through another HTTP adapter.
export { type AppOptions, buildApp } from './app.js';
export { type Config, loadConfig } from './config.js';
export { authorizationHeaders } from './http/credentials.js';
export { loadKeyRing } from './keys/key-ring.js';
export type { RefreshDependencies } from './refresh/refresh-token.js';
export { startServer } from './server.js';
export { openUserStore } from './store/open-user-store.js';
export { createTokenSigner } from './tokens/sign-token.js';
export type { Context } from './trpc/context.js';
export { type AppRouter, appRouter } from './trpc/router.js';
