import type { DatabaseLocation } from '../config.js';
import { openPostgresUserStore, type StoreLog } from './postgres-user-store.js';
import { openSqliteUserStore } from './sqlite-user-store.js';
import type { UserStore } from './user-store.js';

/**
 * Opens the user store the configuration names and applies pending migrations.
 * `log` receives failures that happen between requests, such as a dropped PostgreSQL connection.
 */
export async function openUserStore(
  location: DatabaseLocation,
  log?: StoreLog,
): Promise<UserStore> {
  switch (location.kind) {
    case 'sqlite':
      return openSqliteUserStore(location.path);
    case 'postgres':
      return openPostgresUserStore(location.url, location.pool, log);
  }
}
