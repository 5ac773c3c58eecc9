import type { FastifyInstance } from 'fastify';

import { buildApp } from './app.js';
import type { Config } from './config.js';
import { loadKeyRing } from './keys/key-ring.js';
import { createLogger } from './logging.js';
import { openUserStore } from './store/open-user-store.js';

/** The server cannot listen on the configured address; the message names it and what to change. */
export class ListenError extends Error {
  override name = 'ListenError';
}

/** Opens the store, loads the keys and listens on the configured address; resolves with the app. */
export async function startServer(config: Config): Promise<FastifyInstance> {
  const logger = createLogger(config);
  const store = await openUserStore(config.database, logger);

  let app: FastifyInstance;
  try {
    const keys = await loadKeyRing(config, logger);
    logger.info(
      {
        alg: keys.signing.alg,
        kid: keys.signing.kid,
        verificationKeys: keys.verification.size,
        store: config.database.kind,
      },
      'signing key loaded',
    );
    app = await buildApp({ config, store, keys, logger });
  } catch (error) {
    await store.close();
    throw error;
  }
  app.addHook('onClose', async () => {
    await store.close();
    app.log.info('user store closed');
  });

  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new ListenError(
        `cannot listen on ${config.host}:${config.port}: the address is already in use. Stop the other process or set PORT (or HOST) to a free address.`,
      );
    }
    throw error;
  }
  return app;
}
