import type { FetchFunction } from '../../src/token-session.js';

export interface RecordedRequest {
  path: string;
  /** The Bearer token the request carried, or undefined. Kept for assertions, never printed. */
  token: string | undefined;
}

export interface HeldRequests {
  /** Resolves when the first matching request is held. */
  seen: Promise<void>;
  /** Sends every held request and stops holding. */
  release(): void;
}

/**
 * A `fetch` for the client under test that records each request it sends and can hold back
 * the requests to one path until the test releases them, to line up concurrent calls.
 */
export interface RecordingFetch {
  fetch: FetchFunction;
  requests: RecordedRequest[];
  hold(path: string): HeldRequests;
}

export function recordingFetch(): RecordingFetch {
  const requests: RecordedRequest[] = [];
  let activeHold: { path: string; seen: () => void; released: Promise<void> } | undefined;

  const record: FetchFunction = async (input, init) => {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    const match = /^Bearer +(\S+)$/i.exec(request.headers.get('authorization') ?? '');
    requests.push({ path, token: match?.[1] });

    const current = activeHold;
    if (current !== undefined && current.path === path) {
      current.seen();
      await current.released;
    }
    return fetch(request);
  };

  return {
    fetch: record,
    requests,
    hold(path) {
      let seen!: () => void;
      let release!: () => void;
      const seenPromise = new Promise<void>((resolve) => {
        seen = resolve;
      });
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      activeHold = { path, seen, released };
      return {
        seen: seenPromise,
        release: () => {
          activeHold = undefined;
          release();
        },
      };
    },
  };
}
