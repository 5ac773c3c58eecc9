import { describe, expect, it } from 'vitest';

import { ConfigError, loadConfig } from '../src/config.js';

const postgresUrl = 'postgres://tdb:secret@db.internal:5432/tdb';

describe('operations configuration', () => {
  it('has bounded defaults', () => {
    const config = loadConfig({ DATABASE_URL: postgresUrl });

    expect(config.readinessTimeoutMs).toBe(1000);
    expect(config.shutdownTimeoutMs).toBe(10_000);
    expect(config.database).toEqual({
      kind: 'postgres',
      url: postgresUrl,
      pool: {
        maxConnections: 10,
        connectTimeoutMs: 2000,
        queryTimeoutMs: 2000,
        idleTimeoutMs: 30_000,
      },
    });
  });

  it('reads every pool and timeout variable', () => {
    const config = loadConfig({
      DATABASE_URL: postgresUrl,
      DATABASE_POOL_SIZE: '25',
      DATABASE_CONNECT_TIMEOUT_MS: '750',
      DATABASE_QUERY_TIMEOUT_MS: '1500',
      DATABASE_IDLE_TIMEOUT_MS: '0',
      READINESS_TIMEOUT_MS: '250',
      SHUTDOWN_TIMEOUT_MS: '0',
    });

    expect(config.database).toEqual({
      kind: 'postgres',
      url: postgresUrl,
      pool: { maxConnections: 25, connectTimeoutMs: 750, queryTimeoutMs: 1500, idleTimeoutMs: 0 },
    });
    expect(config.readinessTimeoutMs).toBe(250);
    expect(config.shutdownTimeoutMs).toBe(0);
  });

  it.each([
    ['DATABASE_POOL_SIZE', '0', 'from 1 to 1000'],
    ['DATABASE_POOL_SIZE', 'ten', 'from 1 to 1000'],
    ['DATABASE_CONNECT_TIMEOUT_MS', '0', 'from 1 to 600000'],
    ['DATABASE_QUERY_TIMEOUT_MS', '-5', 'from 1 to 600000'],
    ['DATABASE_IDLE_TIMEOUT_MS', '1.5', 'from 0 to 86400000'],
    ['READINESS_TIMEOUT_MS', '0', 'from 1 to 60000'],
    ['SHUTDOWN_TIMEOUT_MS', '3600001', 'from 0 to 3600000'],
  ])('rejects %s=%s', (variable, value, range) => {
    const load = () => loadConfig({ DATABASE_URL: postgresUrl, [variable]: value });

    expect(load).toThrow(ConfigError);
    expect(load).toThrow(`Invalid ${variable}: "${value}". Expected an integer ${range}.`);
  });

  it('checks the pool variables with a SQLite database too', () => {
    expect(() => loadConfig({ DATABASE_POOL_SIZE: '0' })).toThrow('Invalid DATABASE_POOL_SIZE');
  });
});
