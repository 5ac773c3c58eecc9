import type { FastifyInstance } from 'fastify';

import { buildApp } from './app.js';
import type { Config } from './config.js';
import { loadKeyRing } from './keys/key-ring.js';
import { createLogger } from './logging.js';
import { openUserStore } from './store/open-user-store.js';

/** Opens the store, loads the keys and listens on the configured address; resolves with the app. */
export async function startServer(config: Config): Promise<FastifyInstance> {
  const logger = createLogger(config);
  const store = await openUserStore(config.database, logger);

  let app: FastifyInstance;
  try {
    const keys = await loadKeyRing(config, logger);
    app = await buildApp({ config, store, keys, logger });
  } catch (error) {
    await store.close();
    throw error;
  }
  app.addHook('onClose', async () => {
    await store.close();
    app.log.info('user store closed');
  });

  await app.listen({ host: config.host, port: config.port });
  return app;
}
