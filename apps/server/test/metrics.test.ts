import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestServer, type TestServer } from './support/test-server.js';
import { callRest, callTrpc } from './support/transports.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

async function scrape(): Promise<string> {
  const response = await fetch(`${server.url}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

/** Returns the value of one series, such as `tdb_token_refreshes_total{transport="rest",status="201"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const refreshes = (transport: string, status: number) =>
  `tdb_token_refreshes_total{transport="${transport}",status="${status}"}`;

describe('GET /metrics', () => {
  it('answers in the Prometheus text format', async () => {
    const response = await fetch(`${server.url}/metrics`);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const text = await response.text();
    expect(text).toContain('# TYPE tdb_token_refreshes_total counter');
    expect(text).toContain('# TYPE tdb_token_refresh_duration_seconds histogram');
    expect(text).toContain('# TYPE tdb_user_store_errors_total counter');
  });

  it('includes process metrics', async () => {
    const text = await scrape();

    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(text).toMatch(new RegExp(`^${name} \\d`, 'm'));
    }
  });

  it('exports the usual statuses as zero before any refresh', async () => {
    const fresh = await startTestServer();
    try {
      const text = await (await fetch(`${fresh.url}/metrics`)).text();

      for (const status of [201, 400, 401, 403, 422, 429, 500, 503]) {
        expect(sample(text, refreshes('rest', status))).toBe(0);
      }
      expect(sample(text, refreshes('trpc', 200))).toBe(0);
      expect(sample(text, 'tdb_user_store_errors_total')).toBe(0);
      expect(sample(text, 'tdb_token_refresh_duration_seconds_count{transport="rest"}')).toBe(0);
    } finally {
      await fresh.close();
    }
  });
});

describe('refresh metrics', () => {
  it('count refreshes by transport and status, with their latency', async () => {
    const before = await scrape();
    const active = await server.addUser();
    const locked = await server.addUser({ locked: true });
    const token = await server.issueToken(active.id);
    const lockedToken = await server.issueToken(locked.id);

    expect((await callRest(server, { bearer: token })).status).toBe(201);
    expect((await callRest(server, { bearer: token })).status).toBe(201);
    expect((await callRest(server)).status).toBe(401);
    expect((await callRest(server, { bearer: lockedToken })).status).toBe(403);
    expect((await callTrpc(server, { bearer: token })).status).toBe(200);
    expect((await callTrpc(server, { bearer: 'not-a-token' })).status).toBe(401);

    const after = await scrape();
    const delta = (series: string) => (sample(after, series) ?? 0) - (sample(before, series) ?? 0);
    expect(delta(refreshes('rest', 201))).toBe(2);
    expect(delta(refreshes('rest', 401))).toBe(1);
    expect(delta(refreshes('rest', 403))).toBe(1);
    expect(delta(refreshes('trpc', 200))).toBe(1);
    expect(delta(refreshes('trpc', 401))).toBe(1);
    expect(delta('tdb_token_refresh_duration_seconds_count{transport="rest"}')).toBe(4);
    expect(delta('tdb_token_refresh_duration_seconds_count{transport="trpc"}')).toBe(2);
    expect(delta('tdb_token_refresh_duration_seconds_sum{transport="rest"}')).toBeGreaterThan(0);
    expect(delta('tdb_token_refresh_duration_seconds_bucket{le="+Inf",transport="rest"}')).toBe(4);
  });

  it('count a tRPC batch once', async () => {
    const before = await scrape();
    const user = await server.addUser();
    const token = await server.issueToken(user.id);

    const response = await fetch(
      `${server.url}/trpc/token.refresh,token.refresh?batch=1&input=${encodeURIComponent('{}')}`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(response.status).toBe(200);

    const after = await scrape();
    expect(
      (sample(after, refreshes('trpc', 200)) ?? 0) - (sample(before, refreshes('trpc', 200)) ?? 0),
    ).toBe(1);
  });

  it('leave out requests that are not refreshes', async () => {
    const before = await scrape();

    await fetch(`${server.url}/healthz`);
    await fetch(`${server.url}/openapi.json`);
    await fetch(`${server.url}/v1/token`, { method: 'POST' });
    await fetch(`${server.url}/no-such-path`);
    await fetch(`${server.url}/trpc/no.such.procedure`);

    const after = await scrape();
    const total = (text: string) =>
      text
        .split('\n')
        .filter((line) => line.startsWith('tdb_token_refreshes_total{'))
        .reduce((sum, line) => sum + Number(line.split(' ')[1]), 0);
    expect(total(after)).toBe(total(before));
  });
});
