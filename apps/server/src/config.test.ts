import { describe, expect, it } from 'vitest';

import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});

    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      issuer: 'tdb',
      audience: 'tdb-api',
      tokenLifetimeSeconds: 3600,
      leewaySeconds: 30,
      refreshGraceSeconds: 0,
      logLevel: 'info',
      production: false,
      signingKey: undefined,
    });
    expect(config.database).toEqual({ kind: 'sqlite', path: `${config.dataDir}/tdb.sqlite` });
  });

  it('reads sqlite and postgres database URLs', () => {
    expect(loadConfig({ DATABASE_URL: 'sqlite:/tmp/x.sqlite' }).database).toEqual({
      kind: 'sqlite',
      path: '/tmp/x.sqlite',
    });
    expect(
      loadConfig({ DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/tdb' }).database,
    ).toMatchObject({
      kind: 'postgres',
      url: 'postgres://u:p@127.0.0.1:5432/tdb',
    });
  });

  it.each([
    ['PORT', '80a', 'Invalid PORT: "80a". Expected an integer from 0 to 65535.'],
    ['PORT', '70000', 'Invalid PORT: "70000". Expected an integer from 0 to 65535.'],
    ['TOKEN_LIFETIME', '0', 'Invalid TOKEN_LIFETIME: "0". Expected an integer from 1 to 31536000.'],
    ['JWT_LEEWAY', '-1', 'Invalid JWT_LEEWAY: "-1". Expected an integer from 0 to 3600.'],
    [
      'TOKEN_REFRESH_GRACE',
      '1.5',
      'Invalid TOKEN_REFRESH_GRACE: "1.5". Expected an integer from 0 to 31536000.',
    ],
    [
      'LOG_LEVEL',
      'loud',
      'Invalid LOG_LEVEL: "loud". Expected one of fatal, error, warn, info, debug, trace, silent.',
    ],
    [
      'DATABASE_URL',
      'mysql://x',
      'Invalid DATABASE_URL. Expected sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE.',
    ],
    [
      'JWT_SIGNING_KEY_FILE',
      '/no/such/file',
      'Invalid JWT_SIGNING_KEY_FILE: cannot read /no/such/file (ENOENT). Expected a readable file holding a secret, PEM or JWK.',
    ],
  ])('rejects %s=%s naming the variable', (variable, value, message) => {
    const load = () => loadConfig({ [variable]: value });

    expect(load).toThrow(ConfigError);
    expect(load).toThrow(message);
  });

  it('never echoes a database URL that may hold a password', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://user:secret@' })).toThrow(
      /^Invalid DATABASE_URL\. /,
    );
    try {
      loadConfig({ DATABASE_URL: 'postgres://user:secret@' });
    } catch (error) {
      expect((error as Error).message).not.toContain('secret');
    }
  });

  it('refuses both JWT_SIGNING_KEY and JWT_SIGNING_KEY_FILE', () => {
    expect(() =>
      loadConfig({ JWT_SIGNING_KEY: 'x'.repeat(40), JWT_SIGNING_KEY_FILE: '/etc/hostname' }),
    ).toThrow('set either JWT_SIGNING_KEY or JWT_SIGNING_KEY_FILE, not both');
  });

  it('marks NODE_ENV=production', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).production).toBe(true);
  });
});
