/**
 * An informational comparison for the benchmark, never part of the product: the same
 * `token.refresh` procedure served at `GET /v1/token` through trpc-to-openapi's Fastify plugin,
 * which the product does not use for REST. It reads the same environment as `tdb serve`.
 * Only the success path is comparable: error bodies here are the adapter's, not the contract's.
 */
import {
  appRouter,
  authorizationHeaders,
  type Context,
  createTokenSigner,
  loadConfig,
  loadKeyRing,
  openUserStore,
  type RefreshDependencies,
} from '@tdb/server';
import Fastify, { type FastifyRequest } from 'fastify';
import { fastifyTRPCOpenApiPlugin } from 'trpc-to-openapi';

const config = loadConfig();
const store = await openUserStore(config.database);
const keys = await loadKeyRing(config);
const services: RefreshDependencies = {
  keys,
  store,
  signer: createTokenSigner(keys.signing),
  rules: {
    issuer: config.issuer,
    audience: config.audience,
    leewaySeconds: config.leewaySeconds,
    graceSeconds: config.refreshGraceSeconds,
  },
  issuer: config.issuer,
  audience: config.audience,
  lifetimeSeconds: config.tokenLifetimeSeconds,
  now: Date.now,
};

const app = Fastify({ logger: { level: config.logLevel } });
app.get('/healthz', async () => ({ status: 'ok' }));
await app.register(fastifyTRPCOpenApiPlugin, {
  router: appRouter,
  createContext: ({ req }: { req: FastifyRequest }): Context => ({
    credentials: { authorization: authorizationHeaders(req.raw.rawHeaders), tokens: [] },
    services,
  }),
  responseMeta: ({ errors }: { errors: readonly unknown[] }) =>
    errors.length === 0 ? { status: 201, headers: { 'cache-control': 'no-store' } } : {},
});
await app.listen({ host: config.host, port: config.port });

process.once('SIGTERM', () => {
  app.close().then(() => store.close());
});
