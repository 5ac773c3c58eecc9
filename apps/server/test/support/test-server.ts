import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

import type { FastifyInstance } from 'fastify';

import { buildApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import { type KeyRing, loadKeyRing } from '../../src/keys/key-ring.js';
import { createLogger } from '../../src/logging.js';
import { openSqliteUserStore } from '../../src/store/sqlite-user-store.js';
import type { NewUser, User, UserStore } from '../../src/store/user-store.js';
import { createTokenSigner, type TokenSigner } from '../../src/tokens/sign-token.js';
import { frozenClock, type TestClock } from './clock.js';

/** The HS256 secret every test server signs with unless a test sets JWT_SIGNING_KEY. */
export const TEST_SECRET = 'tdb-test-secret-0123456789abcdef-0123456789';

export interface TestServerOptions {
  /** Extra environment variables, as an operator would set them. */
  env?: Record<string, string>;
  clock?: TestClock;
  signer?: TokenSigner;
  /** Reuse this data folder (for restart tests); a new temporary one otherwise. */
  dataDir?: string;
}

export interface TestServer extends AsyncDisposable {
  /** Base URL on 127.0.0.1, without a trailing slash. */
  url: string;
  app: FastifyInstance;
  store: UserStore;
  keys: KeyRing;
  config: Config;
  dataDir: string;
  clock: TestClock;
  /** Every log line the server wrote, as raw JSON text. */
  logs: string[];
  addUser(user?: NewUser): Promise<User>;
  /** Signs a token for a user with the server's key at the clock's current time. */
  issueToken(userId: string, scope?: string[]): Promise<string>;
  close(): Promise<void>;
}

/** Starts a real server on 127.0.0.1 with a real SQLite file in a temporary folder. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'tdb-test-'));
  const clock = options.clock ?? frozenClock();
  const config = loadConfig({
    DATA_DIR: dataDir,
    JWT_SIGNING_KEY: TEST_SECRET,
    LOG_LEVEL: 'info',
    ...options.env,
  });

  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, callback) {
      logs.push(
        ...String(chunk)
          .split('\n')
          .filter((line) => line !== ''),
      );
      callback();
    },
  });

  const store = openSqliteUserStore(config.database.kind === 'sqlite' ? config.database.path : '');
  const keys = await loadKeyRing(config);
  const app = await buildApp({
    config,
    store,
    keys,
    now: clock.now,
    logger: createLogger(config, logStream),
    ...(options.signer === undefined ? {} : { signer: options.signer }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');

  const sign = createTokenSigner(keys.signing);
  const close = async () => {
    await app.close();
    await store.close();
    if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
  };

  return {
    url: `http://127.0.0.1:${address.port}`,
    app,
    store,
    keys,
    config,
    dataDir,
    clock,
    logs,
    addUser: (user = {}) => store.addUser(user),
    issueToken: async (userId, scope) => {
      const user = await store.findUser(userId);
      const issued = await sign({
        sub: userId,
        scope: scope ?? user?.scopes ?? [],
        issuer: config.issuer,
        audience: config.audience,
        iat: clock.seconds(),
        lifetimeSeconds: config.tokenLifetimeSeconds,
      });
      return issued.token;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
