import { afterEach } from 'vitest';

import type { NewUser } from '../../../../apps/server/src/store/user-store.js';
import {
  startTestServer,
  type TestServer,
} from '../../../../apps/server/test/support/test-server.js';
import { type LiveClock, liveClock } from './live-clock.js';
import { type ResourceServer, startResourceServer } from './resource-server.js';

export interface LiveServerOptions {
  /** Extra environment variables for the token server, as an operator would set them. */
  env?: Record<string, string>;
  /** Milliseconds the server clock runs ahead of real time, or behind when negative. */
  clockShiftMs?: number;
  /** Fields of the user added at start, such as its scopes. */
  user?: NewUser;
}

/** A token server on a live clock, with one user added. */
export interface StartedTokenServer {
  server: TestServer;
  clock: LiveClock;
  userId: string;
}

/** A token server with a resource server that verifies its tokens. */
export interface StartedServers extends StartedTokenServer {
  resource: ResourceServer;
}

export interface LiveServers {
  /** Starts a token server on a live clock with one user, and a resource server for its tokens. */
  start(options?: LiveServerOptions): Promise<StartedServers>;
  /** Starts the token server alone, for tests that call no other API. */
  startTokenServer(options?: LiveServerOptions): Promise<StartedTokenServer>;
  /** Registers a client or token session to be closed after the test, and returns it. */
  closeAfterTest<Client extends { close(): void }>(client: Client): Client;
}

/**
 * Registers an afterEach hook, in the block this is called from, that closes what each test
 * started, newest first. Clients close before the servers, so their background refresh timers
 * stop while the servers still run.
 */
export function setupLiveServers(): LiveServers {
  const closers: Array<() => unknown> = [];

  afterEach(async () => {
    const failures: unknown[] = [];
    for (const close of closers.splice(0).reverse()) {
      try {
        await close();
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0)
      throw new AggregateError(failures, 'failed to close test clients or servers');
  });

  const startTokenServer = async (options: LiveServerOptions = {}) => {
    const clock = liveClock();
    clock.shiftMs = options.clockShiftMs ?? 0;
    const server = await startTestServer({ clock, env: options.env ?? {} });
    closers.push(() => server.close());
    const user = await server.addUser(options.user);
    return { server, clock, userId: user.id };
  };

  return {
    startTokenServer,
    start: async (options) => {
      const started = await startTokenServer(options);
      const resource = await startResourceServer(started.server);
      closers.push(() => resource.close());
      return { ...started, resource };
    },
    closeAfterTest: (client) => {
      closers.push(() => client.close());
      return client;
    },
  };
}
