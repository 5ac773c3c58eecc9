export type { AppRouter } from './trpc/router.js';
export { buildApp, type AppOptions } from './app.js';
export { loadConfig, type Config } from './config.js';
export { startServer } from './server.js';
