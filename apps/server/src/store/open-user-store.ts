import type { DatabaseLocation } from '../config.js';
import { openSqliteUserStore } from './sqlite-user-store.js';
import type { UserStore } from './user-store.js';

/** Opens the user store the configuration names and applies pending migrations. */
export async function openUserStore(location: DatabaseLocation): Promise<UserStore> {
  switch (location.kind) {
    case 'sqlite':
      return openSqliteUserStore(location.path);
    case 'postgres':
      // TODO: the PostgreSQL store is not built yet; until then DATABASE_URL must be sqlite:PATH.
      throw new Error('DATABASE_URL=postgres://... is not supported yet; use sqlite:PATH');
  }
}
