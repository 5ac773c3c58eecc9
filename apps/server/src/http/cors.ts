import type { FastifyInstance } from 'fastify';

export interface CorsOptions {
  /** Allowed browser origins, each exactly as a browser sends it in `Origin`; empty allows none. */
  origins: readonly string[];
}

/** The request headers a browser may send cross-origin: the token, and what tRPC's links add. */
const allowedRequestHeaders = 'Authorization, Content-Type, trpc-accept';

/**
 * Response headers a browser script may read beyond the CORS-safelisted ones. `Date` lets a
 * client measure how far its clock is from the server's before it schedules a refresh.
 */
const exposedResponseHeaders = 'WWW-Authenticate, Retry-After, Date';

/** How long a browser may cache a preflight response, in seconds. */
const preflightMaxAgeSeconds = 600;

/**
 * Lets the named browser origins call the service. A preflight (`OPTIONS` with `Origin` and
 * `Access-Control-Request-Method`) from an allowed origin gets 204 with the allowed method and
 * headers. Every other response to an allowed origin names it in `Access-Control-Allow-Origin`.
 * Requests from other origins get no CORS header, so the browser blocks them, and their
 * preflights reach the routes unchanged (405 on the token path).
 */
export function registerCors(app: FastifyInstance, options: CorsOptions): void {
  if (options.origins.length === 0) return;
  const allowed = new Set(options.origins);

  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'OPTIONS') return;

    const origin = request.headers.origin;
    const requestedMethod = request.headers['access-control-request-method'];
    if (origin === undefined || requestedMethod === undefined || !allowed.has(origin)) return;

    // The service has only GET operations. A preflight for another method gets GET alone,
    // so the browser does not send that request.
    reply
      .header('access-control-allow-methods', 'GET')
      .header('access-control-allow-headers', allowedRequestHeaders)
      .header('access-control-max-age', String(preflightMaxAgeSeconds));
    return reply.code(204).send();
  });

  app.addHook('onSend', async (request, reply, payload) => {
    // Responses differ by Origin, so shared caches must keep them apart.
    reply.header('vary', withVaryOrigin(reply.getHeader('vary')));
    if (payload instanceof Response && payload.headers.has('vary')) {
      // tRPC returns a fetch Response, whose headers Fastify applies after this hook.
      payload.headers.set('vary', withVaryOrigin(payload.headers.get('vary')));
    }

    const origin = request.headers.origin;
    if (origin !== undefined && allowed.has(origin)) {
      reply.header('access-control-allow-origin', origin);
      if (request.method !== 'OPTIONS') {
        reply.header('access-control-expose-headers', exposedResponseHeaders);
      }
    }
    return payload;
  });
}

function withVaryOrigin(current: unknown): string {
  if (current === undefined) return 'Origin';

  const names = String(current)
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.some((name) => name === '*' || name.toLowerCase() === 'origin'))
    return names.join(', ');
  return [...names, 'Origin'].join(', ');
}
