import { errorBody, TOKEN_PATH } from '@tdb/contracts';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';

import type { Config } from './config.js';
import { registerCors } from './http/cors.js';
import { authorizationHeaders, queryTokens } from './http/credentials.js';
import { registerDocsPage } from './http/docs-page.js';
import { registerMetrics } from './http/metrics.js';
import { registerFailedRefreshLimit, rejectIfRateLimited } from './http/rate-limit.js';
import { redactUrl } from './http/redact.js';
import {
  bearerChallenge,
  type HttpFailure,
  sendFailure,
  toHttpFailure,
} from './http/rest-errors.js';
import type { KeyRing } from './keys/key-ring.js';
import { createLogger } from './logging.js';
import { createOpenApiDocument } from './openapi.js';
import type { RefreshDependencies } from './refresh/refresh-token.js';
import { pingWithin } from './store/ping-within.js';
import type { UserStore } from './store/user-store.js';
import { createTokenSigner, type TokenSigner } from './tokens/sign-token.js';
import type { Context } from './trpc/context.js';
import { appRouter, runRefresh } from './trpc/router.js';
import { registerTrpcRoutes } from './trpc/trpc-routes.js';

export interface AppOptions {
  config: Config;
  store: UserStore;
  keys: KeyRing;
  /** Replaces the jose signer; tests use one that fails. */
  signer?: TokenSigner;
  /** Current time in milliseconds; tests freeze it. */
  now?: () => number;
  /** The pino logger; defaults to one built from the configuration, writing to standard output. */
  logger?: Logger;
}

declare module 'fastify' {
  interface FastifyRequest {
    failure: HttpFailure | undefined;
    refreshContext: Context | undefined;
  }
}

const noStore = 'no-store';

/**
 * Builds the Fastify application: REST and tRPC refresh, JWKS, OpenAPI, health routes,
 * metrics and the API reference page.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, store, keys } = options;
  const services: RefreshDependencies = {
    keys,
    store,
    signer: options.signer ?? createTokenSigner(keys.signing),
    rules: {
      issuer: config.issuer,
      audience: config.audience,
      leewaySeconds: config.leewaySeconds,
      graceSeconds: config.refreshGraceSeconds,
    },
    issuer: config.issuer,
    audience: config.audience,
    lifetimeSeconds: config.tokenLifetimeSeconds,
    now: options.now ?? Date.now,
  };

  const logger = options.logger ?? createLogger(config);
  const app = Fastify({
    // Typed as Fastify's base logger so the instance keeps Fastify's default generic parameters.
    loggerInstance: logger as FastifyBaseLogger,
    // The onResponse hook below writes the one line per request; Fastify's own two are off.
    logController: new LogController({ disableRequestLogging: true }),
    // Every GET route also serves HEAD, which health checks often use, except the refresh below.
    exposeHeadRoutes: true,
    // During a shutdown, a request on a connection that is still open is served, and its response
    // closes the connection. Fastify would otherwise respond 503 with a body of its own.
    return503OnClosing: false,
    clientErrorHandler: (error, socket) => {
      // Malformed HTTP never reaches a route; it still gets the contract body, not Fastify's.
      const tooLarge = (error as { code?: string }).code === 'HPE_HEADER_OVERFLOW';
      const status = tooLarge ? 431 : 400;
      const message = tooLarge ? 'request headers too large' : 'malformed HTTP request';
      const body = JSON.stringify(errorBody(status, message));
      if (socket.writable) {
        socket.end(
          `HTTP/1.1 ${status} ${errorBody(status, '').status}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      } else {
        socket.destroy(error);
      }
    },
  });

  app.decorateRequest('failure', undefined);
  app.decorateRequest('refreshContext', undefined);
  registerMetrics(app);
  registerCors(app, { origins: config.corsOrigins });
  registerFailedRefreshLimit(app, {
    limit: config.failedRefreshLimit,
    windowSeconds: config.failedRefreshWindowSeconds,
    now: services.now,
  });

  app.addHook('onResponse', (request, reply, done) => {
    // Below `info` (LOG_LEVEL=warn in production) the line would be dropped: skip building it.
    if (!logger.isLevelEnabled('info')) return done();

    const fields: Record<string, unknown> = {
      method: request.method,
      url: redactUrl(request.url),
      status: reply.statusCode,
      responseTimeMs: Math.round(reply.elapsedTime * 100) / 100,
    };
    const userId = request.refreshContext?.outcome?.userId;
    if (userId !== undefined) fields['userId'] = userId;
    if (request.failure !== undefined) fields['reason'] = request.failure.reason;
    request.log.info(fields, 'request completed');
    done();
  });

  app.setNotFoundHandler((request, reply) => {
    const failure: HttpFailure = {
      status: 404,
      message: `no route for ${request.method} ${request.url.split('?')[0]}`,
      reason: 'ERR_NOT_FOUND',
      kind: 'not_found',
    };
    request.failure = failure;
    return sendFailure(reply, failure);
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    const failure: HttpFailure =
      status >= 400 && status < 500
        ? { status, message: error.message, reason: error.code ?? 'ERR_REQUEST', kind: undefined }
        : toHttpFailure(error);
    if (failure.status >= 500) request.log.error({ err: error }, 'request failed');
    request.failure = failure;
    return sendFailure(reply, failure);
  });

  registerRestRoutes(app, services);
  await registerTrpc(app, services);
  registerPublicRoutes(app, store, keys, config.readinessTimeoutMs);
  registerDocsPage(app);

  app.addHook('onClose', async () => {
    app.log.info('server stopped');
  });
  return app;
}

/** REST `GET /v1/token`: runs the same `token.refresh` procedure as tRPC, with the contract's body. */
function registerRestRoutes(app: FastifyInstance, services: RefreshDependencies): void {
  // A HEAD request would do a whole refresh and throw the new token away, so it gets 405.
  app.get(TOKEN_PATH, { exposeHeadRoute: false }, async (request, reply) => {
    const context: Context = {
      credentials: {
        authorization: authorizationHeaders(request.raw.rawHeaders),
        tokens: queryTokens(request.url),
      },
      services,
    };
    request.refreshContext = context;
    reply.header('cache-control', noStore).header('pragma', 'no-cache');

    try {
      const result = await runRefresh(context);
      return reply.code(201).send(result);
    } catch (error) {
      const failure = toHttpFailure(error);
      if (failure.status >= 500 && failure.kind === 'internal_error') {
        request.log.error({ err: error }, 'refresh failed');
      }
      request.failure = failure;
      return sendFailure(reply, failure);
    }
  });

  const otherMethods = app.supportedMethods.filter((method) => method !== 'GET');
  const methodNotAllowed = async (request: FastifyRequest, reply: FastifyReply) => {
    const failure: HttpFailure = {
      status: 405,
      message: `method ${request.method} is not allowed on ${TOKEN_PATH}; use GET`,
      reason: 'ERR_METHOD_NOT_ALLOWED',
      kind: 'method_not_allowed',
    };
    request.failure = failure;
    reply.header('allow', 'GET');
    return sendFailure(reply, failure);
  };
  app.route({
    method: otherMethods,
    url: TOKEN_PATH,
    // Sending the 405 in onRequest, before the body is read, keeps a POST with an unknown content type
    // or invalid JSON at 405 instead of 415 or 400.
    onRequest: methodNotAllowed,
    handler: methodNotAllowed,
  });
}

/** tRPC at /trpc, with the same credentials and the same status for every failure. */
async function registerTrpc(app: FastifyInstance, services: RefreshDependencies): Promise<void> {
  await registerTrpcRoutes(app, {
    prefix: '/trpc',
    router: appRouter,
    directQueries: ['token.refresh'],
    createContext: (req: FastifyRequest): Context => {
      rejectIfRateLimited(req);
      const context: Context = {
        credentials: { authorization: authorizationHeaders(req.raw.rawHeaders), tokens: [] },
        services,
      };
      req.refreshContext = context;
      return context;
    },
    responseHeaders(errors: readonly unknown[]) {
      const headers: Record<string, string> = { 'cache-control': noStore, pragma: 'no-cache' };
      const first = errors[0];
      if (first !== undefined) {
        const challenge = bearerChallenge(toHttpFailure(first));
        if (challenge !== undefined) headers['www-authenticate'] = challenge;
      }
      return headers;
    },
    onError(error: unknown, req: FastifyRequest) {
      const failure = toHttpFailure(error);
      req.failure = failure;
      if (failure.status >= 500) req.log.error({ err: error }, 'tRPC call failed');
    },
  });
}

/** JWKS, OpenAPI document and health probes: unauthenticated and cheap. */
function registerPublicRoutes(
  app: FastifyInstance,
  store: UserStore,
  keys: KeyRing,
  readinessTimeoutMs: number,
): void {
  const document = JSON.stringify(createOpenApiDocument());
  const jwks = JSON.stringify(keys.jwks);

  app.get('/openapi.json', async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(document),
  );

  app.get('/.well-known/jwks.json', async (_request, reply) =>
    reply
      .header('cache-control', 'public, max-age=300')
      .type('application/jwk-set+json; charset=utf-8')
      .send(jwks),
  );

  app.get('/healthz', async () => ({ status: 'ok' }));

  // Probes repeat every few seconds, so only a change of state is logged with its cause;
  // each probe still gets its request line.
  let storeReady = true;
  app.get('/readyz', async (request, reply) => {
    try {
      await pingWithin(store, readinessTimeoutMs);
      if (!storeReady) request.log.info('user store ready again');
      storeReady = true;
      return { status: 'ready' };
    } catch (error) {
      if (storeReady) request.log.warn({ err: error }, 'user store not ready');
      storeReady = false;
      const failure: HttpFailure = {
        status: 503,
        message: 'user store unavailable',
        reason: 'ERR_STORE_UNAVAILABLE',
        kind: 'store_unavailable',
      };
      request.failure = failure;
      return sendFailure(reply, failure);
    }
  });
}
