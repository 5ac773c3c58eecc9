import type { LoadResult } from './load.js';

/** Ratios the issue sets for the recorded run; the bench reports them, it does not enforce them. */
export const targets = {
  restThroughput: 0.8,
  trpcThroughput: 0.7,
  p99Factor: 2,
  largeStoreThroughput: 0.9,
} as const;

export type TransportName = 'rest' | 'trpc' | 'baseline' | 'openapiAdapter';

/** A ratio to a reference, from runs made one after the other in each round. */
export interface RatioResult {
  /** The median of the round ratios. */
  median: number;
  rounds: number[];
}

export interface TransportRow {
  alg: string;
  transport: TransportName;
  /** The round with the median requests per second. */
  result: LoadResult;
  /** Requests per second against the baseline's in the same round. */
  throughput: RatioResult;
  /** p99 latency against the baseline's in the same round. */
  p99: RatioResult;
}

const labels: Record<TransportName, string> = {
  rest: 'REST `GET /v1/token`',
  trpc: 'tRPC `token.refresh`',
  baseline: 'baseline `node:http`',
  openapiAdapter: 'trpc-to-openapi adapter (informational)',
};

/**
 * Formats the transport comparison as a Markdown table. The ratio columns are medians of the
 * round ratios, each against the baseline's run in the same round.
 */
export function transportTable(rows: readonly TransportRow[]): string {
  const lines = [
    '| key | transport | req/s | p50 ms | p99 ms | CPU µs/req | main thread µs/req | req/s vs baseline | p99 vs baseline | target |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.alg} | ${labels[row.transport]} | ${count(row.result.requestsPerSecond)} | ${row.result.p50Ms} | ${row.result.p99Ms} | ${row.result.cpuMicrosecondsPerRequest?.toFixed(0) ?? ''} | ${row.result.mainThreadMicrosecondsPerRequest?.toFixed(0) ?? ''} | ${ratio(row.throughput.median)} | ${ratio(row.p99.median)} | ${verdict(row.transport, row.throughput.median, row.p99.median)} |`,
    );
  }
  return lines.join('\n');
}

/** Lists the round ratios behind each median in the table, for the rows that have a target. */
export function roundRatios(rows: readonly TransportRow[]): string {
  return rows
    .filter((row) => row.transport === 'rest' || row.transport === 'trpc')
    .map(
      (row) =>
        `${row.alg} ${labels[row.transport]}: req/s vs baseline by round ${row.throughput.rounds.map(ratio).join(', ')}; p99 ${row.p99.rounds.map(ratio).join(', ')}`,
    )
    .join('\n');
}

export interface ScaleResult {
  smallStoreUsers: number;
  largeStoreUsers: number;
  small: LoadResult;
  large: LoadResult;
  /** Requests per second of the large store against the small one's in the same round. */
  throughput: RatioResult;
}

/** Formats the 1-user against large-store comparison of the REST endpoint. */
export function scaleTable(scale: ScaleResult): string {
  const share = scale.throughput.median;
  const met = share >= targets.largeStoreThroughput;
  return [
    '| users in the store | req/s | p50 ms | p99 ms |',
    '| ---: | ---: | ---: | ---: |',
    `| ${count(scale.smallStoreUsers)} | ${count(scale.small.requestsPerSecond)} | ${scale.small.p50Ms} | ${scale.small.p99Ms} |`,
    `| ${count(scale.largeStoreUsers)} | ${count(scale.large.requestsPerSecond)} | ${scale.large.p50Ms} | ${scale.large.p99Ms} |`,
    '',
    `Large store against 1 user: ${ratio(share)} of the requests per second, the median of the round ratios ${scale.throughput.rounds.map(ratio).join(', ')} (target at least ${targets.largeStoreThroughput}): ${met ? 'met' : 'MISSED'}.`,
  ].join('\n');
}

export interface MemoryResult {
  refreshes: number;
  requestsPerSecond: number;
  beforeBytes: number;
  afterBytes: number;
  peakBytes: number;
  boundBytes: number;
}

/** Formats resident memory before and after the long refresh run. */
export function memoryTable(memory: MemoryResult): string {
  const growth = memory.afterBytes - memory.beforeBytes;
  const met = growth <= memory.boundBytes;
  return [
    '| resident memory | MiB |',
    '| --- | ---: |',
    `| before, after the warm-up | ${mebibytes(memory.beforeBytes)} |`,
    `| peak during ${count(memory.refreshes)} refreshes | ${mebibytes(memory.peakBytes)} |`,
    `| after ${count(memory.refreshes)} refreshes | ${mebibytes(memory.afterBytes)} |`,
    `| growth | ${mebibytes(growth)} |`,
    '',
    `The refreshes ran at ${count(memory.requestsPerSecond)} req/s. Growth bound ${mebibytes(memory.boundBytes)} MiB: ${met ? 'met' : 'MISSED'}.`,
  ].join('\n');
}

function verdict(
  transport: TransportName,
  throughputRatio: number | undefined,
  p99Ratio: number | undefined,
): string {
  if (throughputRatio === undefined || p99Ratio === undefined) return '';
  const floor =
    transport === 'rest'
      ? targets.restThroughput
      : transport === 'trpc'
        ? targets.trpcThroughput
        : undefined;
  if (floor === undefined) return '';
  const met = throughputRatio >= floor && p99Ratio <= targets.p99Factor;
  return `≥ ${floor}, p99 ≤ ${targets.p99Factor}×: ${met ? 'met' : 'MISSED'}`;
}

function count(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function ratio(value: number | undefined): string {
  return value === undefined ? '' : value.toFixed(2);
}

function mebibytes(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
