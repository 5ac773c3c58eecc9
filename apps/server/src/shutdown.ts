import type { FastifyInstance } from 'fastify';

/**
 * How long to wait for the close to finish after the remaining connections were cut. It covers
 * the onClose hooks, such as closing the store, whose queries end within their own timeouts.
 */
const FORCED_CLOSE_WAIT_MS = 2000;

/** How often idle keep-alive connections are closed while in-flight requests finish. */
const IDLE_SWEEP_INTERVAL_MS = 50;

/**
 * Stops the server gracefully: it stops accepting connections, lets in-flight requests
 * finish for at most `timeoutMs`, then runs the onClose hooks, which close the store.
 * Resolves with the exit status: 0 when every in-flight request finished in time,
 * 1 when the timeout cut some off or closing failed.
 */
export async function closeGracefully(
  app: FastifyInstance,
  signal: string,
  timeoutMs: number,
): Promise<0 | 1> {
  const started = performance.now();
  app.log.info({ signal, timeoutMs }, 'stopping server: waiting for in-flight requests');

  const closing = app.close().then(
    () => 'closed' as const,
    (error: unknown) => {
      app.log.error({ err: error }, 'server did not stop cleanly');
      return 'failed' as const;
    },
  );

  // Node closes the connections that are idle when the close starts, but a connection whose
  // response ends later stays open for keep-alive, and the close waits for it. Closing idle
  // connections as they appear lets the close finish with the last response.
  const sweeper = setInterval(() => app.server.closeIdleConnections(), IDLE_SWEEP_INTERVAL_MS);
  let first: Awaited<typeof closing> | 'timed out';
  try {
    first = await within(closing, timeoutMs);
  } finally {
    clearInterval(sweeper);
  }

  if (first !== 'timed out') {
    if (first === 'closed') {
      app.log.info({ durationMs: Math.round(performance.now() - started) }, 'shutdown complete');
    }
    return first === 'closed' ? 0 : 1;
  }

  app.log.warn(
    { timeoutMs, openConnections: await connectionCount(app) },
    'shutdown timed out: closing the remaining connections',
  );
  app.server.closeAllConnections();
  const outcome = await within(closing, FORCED_CLOSE_WAIT_MS);
  if (outcome === 'timed out') {
    app.log.error(
      { waitedMs: FORCED_CLOSE_WAIT_MS },
      'server did not finish closing; exiting anyway',
    );
  }
  return 1;
}

/** Resolves with the promise's value, or with 'timed out' when it takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timed out'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed out'>((resolve) => {
    timer = setTimeout(resolve, ms, 'timed out');
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function connectionCount(app: FastifyInstance): Promise<number | undefined> {
  return new Promise((resolve) => {
    app.server.getConnections((error, count) => resolve(error === null ? count : undefined));
  });
}
