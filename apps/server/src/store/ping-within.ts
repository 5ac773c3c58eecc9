import { StoreUnavailableError, type UserStore } from './user-store.js';

/**
 * Pings the store, rejecting with StoreUnavailableError when the ping fails or has not
 * resolved within `timeoutMs`. A late result is ignored.
 */
export async function pingWithin(store: UserStore, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(new StoreUnavailableError(`the user store did not respond within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });

  try {
    await Promise.race([store.ping(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
