import { afterEach, describe, expect, it, vi } from 'vitest';

import { TokenRefreshError } from './token-refresh-error.js';
import { type RefreshFunction, TokenSession, type TokenSessionOptions } from './token-session.js';

/** 2027-01-15T08:00:00Z in milliseconds. */
const START_MS = 1_800_000_000_000;
const LIFETIME_SECONDS = 3600;

function encode(value: unknown): string {
  return btoa(JSON.stringify(value)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/** Builds an unsigned token, which is enough because the session reads `exp` and `iat` only. */
function tokenAt(issuedAtMs: number, lifetimeSeconds = LIFETIME_SECONDS, id = 'a'): string {
  const iat = Math.floor(issuedAtMs / 1000);
  return `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ iat, exp: iat + lifetimeSeconds, jti: id })}.c2ln`;
}

/** A refresh function that returns each scripted outcome in turn and counts its calls. */
function scriptedRefresh(...outcomes: Array<() => Promise<string>>) {
  const calls: string[] = [];
  const refresh: RefreshFunction = async (token) => {
    calls.push(token);
    const next = outcomes.shift();
    if (next === undefined) throw new Error('no more scripted refreshes');
    const issued = await next();
    return { token: issued, expires: JSON.parse(atob(issued.split('.')[1] ?? '')).exp };
  };
  return { refresh, calls };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  return { promise, resolve, reject };
}

function unavailable(retryAfterSeconds?: number) {
  return new TokenRefreshError('token refresh failed with status 503: user store unavailable', {
    kind: 'store_unavailable',
    status: 503,
    retryAfterSeconds,
  });
}

let session: TokenSession | undefined;
let clockMs = START_MS;

afterEach(() => {
  session?.close();
  session = undefined;
  clockMs = START_MS;
  vi.useRealTimers();
});

function open(
  options: Partial<TokenSessionOptions> & Pick<TokenSessionOptions, 'token' | 'refresh'>,
) {
  session = new TokenSession({ baseUrl: 'http://127.0.0.1:8080', now: () => clockMs, ...options });
  return session;
}

describe('TokenSession options', () => {
  const token = tokenAt(START_MS);
  const refresh: RefreshFunction = async () => ({ token, expires: 0 });

  it.each([
    [{ baseUrl: 'localhost:8080' }, 'invalid baseUrl "localhost:8080"'],
    [{ baseUrl: 'ftp://example.com' }, 'invalid baseUrl "ftp://example.com"'],
    [{ token: 'opaque' }, 'invalid token: expected a JWT'],
    [{ token: '' }, 'invalid token: expected a non-empty string'],
    [{ refreshMarginSeconds: -1 }, 'invalid refreshMarginSeconds -1'],
    [{ refreshMarginSeconds: Number.NaN }, 'invalid refreshMarginSeconds null'],
    [
      { tokenOrigins: ['https://example.com/api'] },
      'invalid tokenOrigins entry "https://example.com/api"',
    ],
    [{ tokenOrigins: ['example.com'] }, 'invalid tokenOrigins entry "example.com"'],
    [{ refresh: undefined }, 'invalid refresh: expected a function'],
    [{ now: 5 }, 'invalid now: expected a function'],
  ])('rejects %o with a TypeError', (override, message) => {
    const options = {
      baseUrl: 'http://127.0.0.1:8080',
      token,
      refresh,
      ...override,
    } as TokenSessionOptions;
    expect(() => new TokenSession(options)).toThrow(TypeError);
    expect(() => new TokenSession(options)).toThrow(message);
  });

  it('normalizes the base URL and always trusts its origin', () => {
    const created = new TokenSession({
      baseUrl: 'https://API.example.com/tdb/',
      token,
      refresh,
      tokenOrigins: ['https://items.example.com'],
    });

    expect(created.baseUrl).toBe('https://api.example.com/tdb');
    expect([...created.tokenOrigins]).toEqual([
      'https://api.example.com',
      'https://items.example.com',
    ]);
  });
});

describe('TokenSession refresh timing', () => {
  it('refreshes within the margin only', async () => {
    const script = scriptedRefresh(async () => tokenAt(clockMs, LIFETIME_SECONDS, 'b'));
    const current = open({ token: tokenAt(START_MS), refresh: script.refresh });

    clockMs = START_MS + (LIFETIME_SECONDS - 61) * 1000;
    await current.tokenForCall();
    expect(script.calls).toHaveLength(0);

    clockMs = START_MS + (LIFETIME_SECONDS - 59) * 1000;
    await current.tokenForCall();
    expect(script.calls).toHaveLength(1);
  });

  it('uses half the lifetime as the margin for a short-lived token', async () => {
    const script = scriptedRefresh(async () => tokenAt(clockMs, 20, 'b'));
    const current = open({ token: tokenAt(START_MS, 20), refresh: script.refresh });

    clockMs = START_MS + 9_000;
    await current.tokenForCall();
    expect(script.calls).toHaveLength(0);

    clockMs = START_MS + 11_000;
    await current.tokenForCall();
    expect(script.calls).toHaveLength(1);
  });
});

describe('TokenSession after a refresh that may pass', () => {
  it('sends the valid token, then waits', async () => {
    const fresh = tokenAt(START_MS + 3600_000, LIFETIME_SECONDS, 'b');
    const script = scriptedRefresh(
      async () => {
        throw unavailable();
      },
      async () => fresh,
    );
    const failures: TokenRefreshError[] = [];
    const oldToken = tokenAt(START_MS);
    const current = open({
      token: oldToken,
      refresh: script.refresh,
      onRefreshError: (error) => failures.push(error),
    });

    clockMs = START_MS + (LIFETIME_SECONDS - 30) * 1000;
    expect(await current.tokenForCall()).toBe(oldToken);
    expect(failures.map((error) => error.kind)).toEqual(['store_unavailable']);

    clockMs += 4_000;
    expect(await current.tokenForCall()).toBe(oldToken);
    expect(script.calls).toHaveLength(1);

    clockMs += 2_000;
    expect(await current.tokenForCall()).toBe(fresh);
    expect(script.calls).toHaveLength(2);
  });

  it('waits as long as Retry-After says', async () => {
    const script = scriptedRefresh(
      async () => {
        throw unavailable(20);
      },
      async () => tokenAt(clockMs, LIFETIME_SECONDS, 'b'),
    );
    const current = open({ token: tokenAt(START_MS), refresh: script.refresh });

    clockMs = START_MS + (LIFETIME_SECONDS - 50) * 1000;
    await current.tokenForCall();
    clockMs += 19_000;
    await current.tokenForCall();
    expect(script.calls).toHaveLength(1);

    clockMs += 2_000;
    await current.tokenForCall();
    expect(script.calls).toHaveLength(2);
  });

  it('rejects calls with the same error once the token has expired', async () => {
    const failure = unavailable();
    const script = scriptedRefresh(async () => {
      throw failure;
    });
    const current = open({ token: tokenAt(START_MS), refresh: script.refresh });

    clockMs = START_MS + (LIFETIME_SECONDS + 1) * 1000;
    const results = await Promise.allSettled([current.tokenForCall(), current.tokenForCall()]);

    expect(results).toEqual([
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
    ]);
    expect(script.calls).toHaveLength(1);
    expect(current.failure).toBeUndefined();
  });
});

describe('TokenSession errors from the refresh function', () => {
  it('wraps other errors as network errors', async () => {
    const script = scriptedRefresh(async () => {
      throw new TypeError('fetch failed');
    });
    const current = open({ token: tokenAt(START_MS), refresh: script.refresh });

    const error = await current.refresh().catch((reason: unknown) => reason);

    expect(error).toBeInstanceOf(TokenRefreshError);
    expect(error).toMatchObject({ kind: 'network_error', status: undefined, terminal: false });
    expect((error as Error).message).toBe('token refresh failed: fetch failed');
  });

  it('rejects a refreshed token that is not a JWT', async () => {
    const script = scriptedRefresh(async () => `${encode({})}.${encode({ exp: 1 })}.c2ln`);
    const current = open({
      token: tokenAt(START_MS),
      refresh: async (token, transport) => {
        await script.refresh(token, transport);
        return { token: 'opaque', expires: 1 };
      },
    });

    const error = await current.refresh().catch((reason: unknown) => reason);

    expect(error).toMatchObject({ kind: 'invalid_response' });
    expect((error as Error).message).toBe(
      'token refresh returned an invalid token: expected a JWT of 3 dot-separated base64url segments',
    );
  });
});

describe('TokenSession concurrency', () => {
  it('discards a refresh of a token that setToken replaced', async () => {
    const pending = deferred<string>();
    const script = scriptedRefresh(() => pending.promise);
    const current = open({ token: tokenAt(START_MS), refresh: script.refresh });

    const refreshing = current.refresh();
    const replacement = tokenAt(START_MS, LIFETIME_SECONDS, 'replacement');
    current.setToken(replacement);
    pending.resolve(tokenAt(START_MS, LIFETIME_SECONDS, 'late'));

    expect((await refreshing).token).toBe(replacement);
    expect(current.token).toBe(replacement);
  });

  it('aborts one waiting call only', async () => {
    const pending = deferred<string>();
    const script = scriptedRefresh(() => pending.promise);
    const current = open({ token: tokenAt(START_MS), refresh: script.refresh });
    clockMs = START_MS + (LIFETIME_SECONDS - 10) * 1000;

    const controller = new AbortController();
    const aborted = current.tokenForCall(controller.signal);
    const waiting = current.tokenForCall();
    controller.abort(new Error('caller gave up'));
    await expect(aborted).rejects.toThrow('caller gave up');

    const fresh = tokenAt(clockMs, LIFETIME_SECONDS, 'b');
    pending.resolve(fresh);
    expect(await waiting).toBe(fresh);
    expect(script.calls).toHaveLength(1);
  });

  it('retries a rejected call with a newer token without refreshing', async () => {
    const script = scriptedRefresh(async () => tokenAt(clockMs, LIFETIME_SECONDS, 'b'));
    const oldToken = tokenAt(START_MS);
    const current = open({ token: oldToken, refresh: script.refresh });

    await current.refresh();
    const retryToken = await current.tokenAfterRejection(oldToken);

    expect(retryToken).toBe(current.token);
    expect(retryToken).not.toBe(oldToken);
    expect(script.calls).toHaveLength(1);
  });

  it('rejects a retry when the refresh fails', async () => {
    const script = scriptedRefresh(async () => {
      throw unavailable();
    });
    const oldToken = tokenAt(START_MS);
    const current = open({ token: oldToken, refresh: script.refresh });

    // The failure may pass and the token has not expired, but the service rejected that token.
    const retry = current.tokenAfterRejection(oldToken);

    await expect(retry).rejects.toBeInstanceOf(TokenRefreshError);
    await expect(retry).rejects.toMatchObject({ kind: 'store_unavailable' });
    expect(script.calls).toEqual([oldToken]);
  });
});

describe('TokenSession background timer', () => {
  it('retries transient failures, stops on terminal', async () => {
    vi.useFakeTimers({ now: START_MS });
    const locked = new TokenRefreshError('token refresh failed with status 403: User is locked', {
      kind: 'user_locked',
      status: 403,
    });
    const script = scriptedRefresh(
      async () => {
        throw unavailable();
      },
      async () => {
        throw locked;
      },
    );
    const failures: TokenRefreshError[] = [];
    open({
      token: tokenAt(START_MS, 120),
      refresh: script.refresh,
      backgroundRefresh: true,
      now: Date.now,
      onRefreshError: (error) => failures.push(error),
    });

    await vi.advanceTimersByTimeAsync(59_000);
    expect(script.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(failures.map((error) => error.kind)).toEqual(['store_unavailable']);

    await vi.advanceTimersByTimeAsync(5_000);
    expect(failures.map((error) => error.kind)).toEqual(['store_unavailable', 'user_locked']);

    await vi.advanceTimersByTimeAsync(600_000);
    expect(script.calls).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });
});
