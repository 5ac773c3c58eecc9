import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Registry } from 'prom-client';

import { type RefreshTransport, refreshTransport } from './refresh-route.js';

/** Upper bounds of the latency buckets in seconds, from 1 ms to 5 s. */
const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Statuses exported as 0 from the start, so a rate over them exists before the first failure.
 * A refresh succeeds with 201 over REST and with 200 over tRPC.
 */
const expectedStatuses: Record<RefreshTransport, number[]> = {
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

/**
 * Registers `GET /metrics` (Prometheus text format) and the hook that counts refreshes on
 * REST and tRPC. The hook runs after each response and only adds to plain numbers. The
 * text is written when /metrics is read. prom-client hashes the labels on every update,
 * which cost about 5 µs per refresh.
 */
export function registerMetrics(app: FastifyInstance): void {
  const registry = new Registry();
  const storeErrors = new Counter({
    name: 'tdb_user_store_errors_total',
    help: 'Requests (refreshes and readiness checks) that failed because the user store could not be reached or read.',
    registers: [registry],
  });

  const rest = new RefreshTally('rest');
  const trpc = new RefreshTally('trpc');

  app.addHook('onResponse', (request, reply, done) => {
    if (request.failure?.kind === 'store_unavailable') storeErrors.inc();

    // NOTE: a tRPC batch of several calls counts once, with the status of the whole response.
    const transport = refreshTransport(request);
    if (transport !== undefined) {
      (transport === 'rest' ? rest : trpc).record(reply.statusCode, reply.elapsedTime / 1000);
    }
    done();
  });

  app.get('/metrics', async (_request, reply) => {
    const text = [
      await processMetrics().metrics(),
      await registry.metrics(),
      formatRefreshMetrics([rest, trpc]),
    ].join('\n');
    return reply.header('cache-control', 'no-store').type(registry.contentType).send(text);
  });
}

/** Refreshes of one transport since the start: counts by status and the latency histogram. */
export class RefreshTally {
  readonly countsByStatus = new Map<number, number>();
  /** Responses per latency bucket, not cumulative: slot i counts latencies in (bound i-1, bound i]. */
  readonly bucketCounts: number[] = durationBuckets.map(() => 0);
  sumSeconds = 0;
  count = 0;

  constructor(readonly transport: RefreshTransport) {
    for (const status of expectedStatuses[transport]) this.countsByStatus.set(status, 0);
  }

  /** Counts one response. A latency above the last bound counts only towards `+Inf`. */
  record(status: number, seconds: number): void {
    this.countsByStatus.set(status, (this.countsByStatus.get(status) ?? 0) + 1);

    let bucket = 0;
    while (bucket < durationBuckets.length && seconds > (durationBuckets[bucket] ?? 0)) {
      bucket += 1;
    }
    if (bucket < durationBuckets.length) {
      this.bucketCounts[bucket] = (this.bucketCounts[bucket] ?? 0) + 1;
    }
    this.sumSeconds += seconds;
    this.count += 1;
  }
}

const refreshesName = 'tdb_token_refreshes_total';
const durationName = 'tdb_token_refresh_duration_seconds';

/**
 * Writes the refresh counter and histogram of every transport in the Prometheus text format
 * 0.0.4. The label values are fixed words and numbers, so none needs escaping.
 */
export function formatRefreshMetrics(tallies: readonly RefreshTally[]): string {
  const lines = [
    `# HELP ${refreshesName} Token refresh requests by transport (rest or trpc) and HTTP status of the response.`,
    `# TYPE ${refreshesName} counter`,
  ];
  for (const tally of tallies) {
    for (const [status, count] of tally.countsByStatus) {
      lines.push(`${refreshesName}{transport="${tally.transport}",status="${status}"} ${count}`);
    }
  }

  lines.push(
    `# HELP ${durationName} Time from the start of a refresh request to the end of its response, by transport.`,
    `# TYPE ${durationName} histogram`,
  );
  for (const tally of tallies) {
    const transport = `transport="${tally.transport}"`;
    let cumulative = 0;
    durationBuckets.forEach((bound, index) => {
      cumulative += tally.bucketCounts[index] ?? 0;
      lines.push(`${durationName}_bucket{le="${bound}",${transport}} ${cumulative}`);
    });
    lines.push(
      `${durationName}_bucket{le="+Inf",${transport}} ${tally.count}`,
      `${durationName}_sum{${transport}} ${tally.sumSeconds}`,
      `${durationName}_count{${transport}} ${tally.count}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
