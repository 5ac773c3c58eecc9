import autocannon from 'autocannon';

/** The connection count and durations of one load run. */
export interface LoadShape {
  connections: number;
  warmUpSeconds: number;
  durationSeconds: number;
}

export interface LoadTarget {
  /** Full URL of the endpoint, on 127.0.0.1. */
  url: string;
  /** Tokens sent as `Authorization: Bearer`. Each connection cycles through them in order. */
  tokens: readonly string[];
}

/** Figures of one measured run. Only 2xx responses count towards the latency figures. */
export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Server CPU time per request, all threads, when the caller passed the server. */
  cpuMicrosecondsPerRequest: number | undefined;
  /** Server CPU time per request on the main thread, which runs the event loop. */
  mainThreadMicrosecondsPerRequest: number | undefined;
}

/** Readers of a server's CPU time in seconds, from /proc. */
export interface CpuClock {
  cpuSeconds(): number;
  mainThreadCpuSeconds(): number;
}

/**
 * Drives the target for the warm-up, discards that run, then measures a second run of the
 * same shape. Rejects when any response of either run was not 2xx or a connection failed,
 * because a figure built on error responses would measure the wrong path.
 */
export async function measure(
  target: LoadTarget,
  shape: LoadShape,
  server?: CpuClock,
): Promise<LoadResult> {
  if (shape.warmUpSeconds > 0) {
    await drive(target, { connections: shape.connections, duration: shape.warmUpSeconds });
  }
  const cpuBefore = server?.cpuSeconds();
  const mainBefore = server?.mainThreadCpuSeconds();
  const result = await drive(target, {
    connections: shape.connections,
    duration: shape.durationSeconds,
  });
  if (server !== undefined && cpuBefore !== undefined && mainBefore !== undefined) {
    const perRequest = (seconds: number) => (seconds * 1e6) / Math.max(1, result.requests);
    result.cpuMicrosecondsPerRequest = perRequest(server.cpuSeconds() - cpuBefore);
    result.mainThreadMicrosecondsPerRequest = perRequest(
      server.mainThreadCpuSeconds() - mainBefore,
    );
  }
  return result;
}

/** Sends exactly `amount` requests, as fast as the server responds. */
export function driveCount(
  target: LoadTarget,
  connections: number,
  amount: number,
): Promise<LoadResult> {
  return drive(target, { connections, amount });
}

async function drive(
  target: LoadTarget,
  limit: { connections: number; duration?: number; amount?: number },
): Promise<LoadResult> {
  const result = await autocannon({
    url: target.url,
    connections: limit.connections,
    ...(limit.amount === undefined ? { duration: limit.duration ?? 10 } : { amount: limit.amount }),
    requests: target.tokens.map((token) => ({
      method: 'GET',
      headers: { authorization: `Bearer ${token}` },
    })),
  });

  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    const statuses = JSON.stringify(result.statusCodeStats ?? {});
    throw new Error(
      `load on ${new URL(target.url).pathname} got ${result.non2xx} non-2xx responses, ` +
        `${result.errors} connection errors and ${result.timeouts} timeouts (statuses: ${statuses})`,
    );
  }
  return {
    requestsPerSecond: result['2xx'] / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result['2xx'],
    cpuMicrosecondsPerRequest: undefined,
    mainThreadMicrosecondsPerRequest: undefined,
  };
}
