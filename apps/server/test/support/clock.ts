/** A clock that stays still until a test moves it. Times are Unix seconds. */
export interface TestClock {
  /** Current time in milliseconds, the form the server's `now` option takes. */
  now: () => number;
  seconds(): number;
  set(seconds: number): void;
  advance(seconds: number): void;
}

/** 2027-01-15T08:00:00Z: a fixed instant, so every token test runs at the same time. */
export const FROZEN_START_SECONDS = 1_800_000_000;

export function frozenClock(startSeconds = FROZEN_START_SECONDS): TestClock {
  let current = startSeconds;
  return {
    now: () => current * 1000,
    seconds: () => current,
    set: (seconds) => {
      current = seconds;
    },
    advance: (seconds) => {
      current += seconds;
    },
  };
}
