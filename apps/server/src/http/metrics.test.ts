import { describe, expect, it } from 'vitest';

import { formatRefreshMetrics, RefreshTally } from './metrics.js';

/** Returns the value of one series line of the text, or undefined when it is missing. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const bucket = (le: string) =>
  `tdb_token_refresh_duration_seconds_bucket{le="${le}",transport="rest"}`;

describe('refresh tally', () => {
  it('counts a latency equal to a bound in it', () => {
    const tally = new RefreshTally('rest');
    tally.record(201, 0.0025);
    const text = formatRefreshMetrics([tally]);

    expect(sample(text, bucket('0.001'))).toBe(0);
    expect(sample(text, bucket('0.0025'))).toBe(1);
    expect(sample(text, bucket('5'))).toBe(1);
  });

  it('writes cumulative buckets, sum, count', () => {
    const tally = new RefreshTally('rest');
    for (const seconds of [0.0005, 0.003, 0.003, 0.2, 7]) tally.record(201, seconds);
    const text = formatRefreshMetrics([tally]);

    expect(sample(text, bucket('0.001'))).toBe(1);
    expect(sample(text, bucket('0.005'))).toBe(3);
    expect(sample(text, bucket('0.25'))).toBe(4);
    expect(sample(text, bucket('5'))).toBe(4);
    expect(sample(text, bucket('+Inf'))).toBe(5);
    expect(sample(text, 'tdb_token_refresh_duration_seconds_count{transport="rest"}')).toBe(5);
    expect(sample(text, 'tdb_token_refresh_duration_seconds_sum{transport="rest"}')).toBeCloseTo(
      7.2065,
      9,
    );
  });

  it('counts statuses, unexpected ones too', () => {
    const tally = new RefreshTally('trpc');
    tally.record(200, 0.01);
    tally.record(200, 0.01);
    tally.record(418, 0.01);
    const text = formatRefreshMetrics([tally]);

    expect(sample(text, 'tdb_token_refreshes_total{transport="trpc",status="200"}')).toBe(2);
    expect(sample(text, 'tdb_token_refreshes_total{transport="trpc",status="418"}')).toBe(1);
    expect(sample(text, 'tdb_token_refreshes_total{transport="trpc",status="401"}')).toBe(0);
  });

  it('writes each family once', () => {
    const text = formatRefreshMetrics([new RefreshTally('rest'), new RefreshTally('trpc')]);

    expect(text.match(/^# TYPE tdb_token_refreshes_total counter$/gm)).toHaveLength(1);
    expect(text.match(/^# TYPE tdb_token_refresh_duration_seconds histogram$/gm)).toHaveLength(1);
    expect(text.endsWith('\n')).toBe(true);
  });
});
