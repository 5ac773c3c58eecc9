import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

import { refreshTransport } from './refresh-route.js';

/** Upper bounds of the latency buckets in seconds, from 1 ms to 5 s. */
const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Statuses exported as 0 from the start, so a rate over them exists before the first failure.
 * A refresh succeeds with 201 over REST and with 200 over tRPC.
 */
const expectedStatuses = {
  rest: [201, 400, 401, 403, 422, 429, 500, 503],
  trpc: [200, 400, 401, 403, 422, 429, 500, 503],
};

let processRegistry: Registry | undefined;

/**
 * Returns the registry of process metrics (CPU, memory, event loop lag, garbage collection).
 * There is one per process, because each collector installs process-wide observers.
 */
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** One transport's counters and histogram, looked up once so a request only increments. */
interface TransportMetrics {
  byStatus: Map<number, Counter.Internal>;
  refreshes: Counter<'transport' | 'status'>;
  transport: string;
  duration: Histogram.Internal<'transport'>;
}

/**
 * Registers `GET /metrics` (Prometheus text format) and the hook that counts refreshes on
 * REST and tRPC. The hook runs after each response and reads the status and Fastify's own
 * timing. Label children are looked up once per status and then reused.
 */
export function registerMetrics(app: FastifyInstance): void {
  const registry = new Registry();

  const refreshes = new Counter({
    name: 'tdb_token_refreshes_total',
    help: 'Token refresh requests by transport (rest or trpc) and HTTP status of the response.',
    labelNames: ['transport', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'tdb_token_refresh_duration_seconds',
    help: 'Time from the start of a refresh request to the end of its response, by transport.',
    labelNames: ['transport'] as const,
    buckets: durationBuckets,
    registers: [registry],
  });
  const storeErrors = new Counter({
    name: 'tdb_user_store_errors_total',
    help: 'Requests (refreshes and readiness checks) that failed because the user store could not be reached or read.',
    registers: [registry],
  });

  const rest = transportMetrics(refreshes, duration, 'rest');
  const trpc = transportMetrics(refreshes, duration, 'trpc');

  app.addHook('onResponse', (request, reply, done) => {
    if (request.failure?.kind === 'store_unavailable') storeErrors.inc();

    const metrics = refreshMetrics(request);
    if (metrics !== undefined) {
      statusCounter(metrics, reply.statusCode).inc();
      metrics.duration.observe(reply.elapsedTime / 1000);
    }
    done();
  });

  /** Picks the metrics of a refresh request's transport, or undefined for any other request. */
  function refreshMetrics(request: FastifyRequest): TransportMetrics | undefined {
    // NOTE: a tRPC batch of several calls counts once, with the status of the whole response.
    const transport = refreshTransport(request);
    if (transport === undefined) return undefined;
    return transport === 'rest' ? rest : trpc;
  }

  app.get('/metrics', async (_request, reply) => {
    const text = `${await processMetrics().metrics()}\n${await registry.metrics()}`;
    return reply.header('cache-control', 'no-store').type(registry.contentType).send(text);
  });
}

function transportMetrics(
  refreshes: Counter<'transport' | 'status'>,
  duration: Histogram<'transport'>,
  transport: keyof typeof expectedStatuses,
): TransportMetrics {
  const metrics: TransportMetrics = {
    byStatus: new Map(),
    refreshes,
    transport,
    duration: duration.labels(transport),
  };
  duration.zero({ transport });
  for (const status of expectedStatuses[transport]) statusCounter(metrics, status);
  return metrics;
}

function statusCounter(metrics: TransportMetrics, status: number) {
  let counter = metrics.byStatus.get(status);
  if (counter === undefined) {
    counter = metrics.refreshes.labels(metrics.transport, String(status));
    // Zero makes the series appear in /metrics before the first request with this status.
    counter.inc(0);
    metrics.byStatus.set(status, counter);
  }
  return counter;
}
