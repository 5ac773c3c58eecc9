import type { TestClock } from '../../../../apps/server/test/support/clock.js';
import type { TestServer } from '../../../../apps/server/test/support/test-server.js';

/**
 * A server clock that runs with real time plus a shift the test sets. Node writes the `Date`
 * response header from real time, so a test server with a frozen token clock would send a
 * `Date` that contradicts its tokens. With this clock the two differ by exactly the shift.
 */
export interface LiveClock extends TestClock {
  /** Milliseconds added to real time. */
  shiftMs: number;
}

export function liveClock(): LiveClock {
  const clock: LiveClock = {
    shiftMs: 0,
    now: () => Date.now() + clock.shiftMs,
    seconds: () => Math.floor(clock.now() / 1000),
    set: (seconds) => {
      clock.shiftMs = seconds * 1000 - Date.now();
    },
    advance: (seconds) => {
      clock.shiftMs += seconds * 1000;
    },
  };
  return clock;
}

/** Returns a client clock that runs `skewSeconds` ahead of real time, or behind when negative. */
export function skewedNow(skewSeconds: number): () => number {
  return () => Date.now() + skewSeconds * 1000;
}

/**
 * Issues a token that expires `seconds` from now by real time: the server's clock is moved
 * back by the rest of the token lifetime while it signs, then put back.
 */
export async function issueTokenExpiringIn(
  server: TestServer,
  clock: LiveClock,
  userId: string,
  seconds: number,
): Promise<string> {
  clock.shiftMs = -(server.config.tokenLifetimeSeconds - seconds) * 1000;
  const token = await server.issueToken(userId);
  clock.shiftMs = 0;
  return token;
}
