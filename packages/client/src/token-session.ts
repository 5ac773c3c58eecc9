import type { TokenResponse } from '@tdb/contracts';

import { ClockOffset } from './clock-offset.js';
import { resolveInput } from './resolve-url.js';
import {
  optionalFunction,
  parseBaseUrl,
  parseMargin,
  parseOrigins,
  requireFunction,
  requireToken,
} from './session-options.js';
import { TokenRefreshError } from './token-refresh-error.js';
import { readTokenTimes, type TokenTimes } from './token-times.js';

/** The `fetch` signature that the client calls and provides. The global `fetch` matches it. */
export type FetchFunction = (
  input: Request | string | URL,
  init?: RequestInit,
) => Promise<Response>;

/** The base URL and `fetch` a refresh function sends its request with. */
export interface RefreshTransport {
  /** The service's base URL, without a trailing slash. */
  baseUrl: string;
  /** Sends a request without adding a token. A relative URL resolves against `baseUrl`. */
  fetch: FetchFunction;
}

/**
 * Exchanges a token for a new one over one transport (tRPC or REST). Rejects with a
 * TokenRefreshError. Anything else it throws is reported as a `network_error`.
 */
export type RefreshFunction = (
  token: string,
  transport: RefreshTransport,
) => Promise<TokenResponse>;

export interface TokenSessionOptions {
  /** The service's base URL, such as `https://api.example.com`. Relative request URLs resolve against it. */
  baseUrl: string;
  /** The token to start with. */
  token: string;
  refresh: RefreshFunction;
  /**
   * Seconds before expiry at which a call refreshes the token first, 60 by default. For a token
   * whose lifetime (`exp` minus `iat`) is shorter than twice this, half the lifetime is used.
   */
  refreshMarginSeconds?: number;
  /** Refreshes ahead of expiry with a timer that never keeps a Node process alive. Off by default. */
  backgroundRefresh?: boolean;
  /** Receives each token a refresh returns, after the client has switched to it. */
  onToken?: (refreshed: TokenResponse) => void;
  /** Receives each failed refresh, including the background timer's, which no call awaits. */
  onRefreshError?: (error: TokenRefreshError) => void;
  /** The `fetch` for every request. By default the global one, looked up at each request. */
  fetch?: FetchFunction;
  /** The client's clock in milliseconds since the epoch, `Date.now` by default. */
  now?: () => number;
  /**
   * Further origins (`scheme://host[:port]`) that may receive the token in `Authorization`,
   * besides the origin of `baseUrl`. The authenticated fetch rejects requests to any other.
   */
  tokenOrigins?: readonly string[];
}

/** Delay before the next refresh after a failure that may pass (5xx, 429, no response) without `Retry-After`. */
const TRANSIENT_RETRY_DELAY_MS = 5000;

/** The background timer never fires sooner than this after being set, so it cannot spin. */
const MIN_TIMER_DELAY_MS = 1000;

/** The timer re-checks at least this often, which also keeps it far below `setTimeout`'s limit. */
const MAX_TIMER_DELAY_MS = 10 * 60 * 1000;

/**
 * Keeps the current token fresh. It refreshes the token before it expires, shares one refresh
 * among all concurrent callers, and stops for good when the service rejects the refresh.
 */
export class TokenSession {
  readonly baseUrl: string;
  readonly tokenOrigins: ReadonlySet<string>;

  readonly #refreshFunction: RefreshFunction;
  readonly #marginMs: number;
  readonly #background: boolean;
  readonly #onToken: ((refreshed: TokenResponse) => void) | undefined;
  readonly #onRefreshError: ((error: TokenRefreshError) => void) | undefined;
  readonly #fetch: FetchFunction;
  readonly #now: () => number;
  readonly #offset = new ClockOffset();
  readonly #transport: RefreshTransport;

  #token: string;
  #times: TokenTimes;
  /** The refresh under way. Every caller that needs a new token awaits this one promise. */
  #inFlight: Promise<void> | undefined;
  /** The failure of a refresh rejected with 401 or 403, which every later call rejects with. */
  #failure: TokenRefreshError | undefined;
  /** Client time before which a still valid token is not refreshed again after a transient failure. */
  #retryNotBefore = 0;
  #timer: unknown;
  #closed = false;

  constructor(options: TokenSessionOptions) {
    this.baseUrl = parseBaseUrl(options.baseUrl);
    this.tokenOrigins = parseOrigins(options.tokenOrigins, this.baseUrl);
    this.#marginMs = parseMargin(options.refreshMarginSeconds) * 1000;
    this.#refreshFunction = requireFunction(options.refresh, 'refresh');
    this.#background = options.backgroundRefresh === true;
    this.#onToken = optionalFunction(options.onToken, 'onToken');
    this.#onRefreshError = optionalFunction(options.onRefreshError, 'onRefreshError');
    this.#fetch =
      optionalFunction(options.fetch, 'fetch') ?? ((input, init) => globalThis.fetch(input, init));
    this.#now = optionalFunction(options.now, 'now') ?? Date.now;
    this.#transport = {
      baseUrl: this.baseUrl,
      fetch: (input, init) => this.send(new Request(resolveInput(input, this.baseUrl), init)),
    };

    this.#token = requireToken(options.token);
    this.#times = readTokenTimes(this.#token);
    this.#offset.observeIssuedAt(this.#times.issuedAt, this.#now());
    this.#schedule();
  }

  /** The token in use. */
  get token(): string {
    return this.#token;
  }

  /** The `exp` claim of the token in use, in Unix seconds. */
  get expires(): number {
    return this.#times.expires;
  }

  /** The terminal refresh failure that stopped the client, if any. */
  get failure(): TokenRefreshError | undefined {
    return this.#failure;
  }

  /** Estimated server time minus client time, in milliseconds. */
  get clockOffsetMs(): number {
    return this.#offset.milliseconds;
  }

  /**
   * Refreshes the token now, or joins the refresh already under way, and returns the result.
   * Rejects with the TokenRefreshError of a failed refresh.
   */
  async refresh(): Promise<TokenResponse> {
    if (this.#failure !== undefined) throw this.#failure;
    await this.#startRefresh();
    return { token: this.#token, expires: this.#times.expires };
  }

  /**
   * Switches to a token obtained elsewhere, such as after a new login, and clears a terminal
   * failure. A refresh still under way for the previous token is discarded when it ends.
   */
  setToken(token: string): void {
    const times = readTokenTimes(requireToken(token));
    this.#token = token;
    this.#times = times;
    this.#failure = undefined;
    this.#retryNotBefore = 0;
    this.#offset.observeIssuedAt(times.issuedAt, this.#now());
    this.#schedule();
  }

  /** Stops the background timer. Calls keep working and still refresh when they need to. */
  close(): void {
    this.#closed = true;
    this.#clearTimer();
  }

  /**
   * Returns the token a call should send: the current one, or a new one when it expires within
   * the margin or a refresh is under way. Rejects with a TokenRefreshError when no usable token
   * can be had, or with the signal's reason when the caller aborts while waiting.
   */
  async tokenForCall(signal?: AbortSignal | null): Promise<string> {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#inFlight === undefined && this.#needsRefresh()) {
      void this.#startRefresh().catch(ignore);
    }

    // After a failure that may pass, a token that has not expired is still worth sending.
    return this.#tokenAfterRefresh(signal, () => true);
  }

  /**
   * Returns the token to retry a call with after the service rejected the token `rejected` with
   * 401. That is the newer token when one exists, or else the result of one refresh. Rejects like
   * `tokenForCall`.
   */
  async tokenAfterRejection(rejected: string, signal?: AbortSignal | null): Promise<string> {
    if (this.#failure !== undefined) throw this.#failure;

    if (this.#token === rejected) void this.#startRefresh().catch(ignore);
    // A newer token than the rejected one is still worth a retry after a failure that may pass.
    return this.#tokenAfterRefresh(signal, () => this.#token !== rejected);
  }

  /**
   * Waits for the refresh in flight, if any, and returns the current token. A failed refresh
   * rejects unless it may pass, the token has not expired and `worthSending` returns true.
   */
  async #tokenAfterRefresh(
    signal: AbortSignal | null | undefined,
    worthSending: () => boolean,
  ): Promise<string> {
    const pending = this.#inFlight;
    if (pending !== undefined) {
      try {
        await untilAborted(pending, signal);
      } catch (error) {
        const transient = error instanceof TokenRefreshError && !error.terminal;
        if (!transient || !worthSending() || this.#remainingMs() <= 0) throw error;
      }
    }
    return this.#token;
  }

  /** Sends a request with the configured `fetch` and samples the response's `Date` header. */
  async send(request: Request): Promise<Response> {
    const sentAt = this.#now();
    const response = await this.#fetch(request);
    this.#offset.observeDateHeader(response.headers.get('date'), sentAt);
    return response;
  }

  /** Starts a refresh of the current token, or returns the one under way. */
  #startRefresh(): Promise<void> {
    if (this.#inFlight !== undefined) return this.#inFlight;

    const refreshing = this.#runRefresh(this.#token).finally(() => {
      if (this.#inFlight === refreshing) this.#inFlight = undefined;
      this.#schedule();
    });
    this.#inFlight = refreshing;
    return refreshing;
  }

  async #runRefresh(from: string): Promise<void> {
    let refreshed: TokenResponse;
    let times: TokenTimes;
    try {
      refreshed = await this.#refreshFunction(from, this.#transport);
      times = readRefreshedTimes(refreshed);
    } catch (error) {
      const failure = asRefreshError(error);
      // A failure for a token that setToken has replaced does not apply to the new token.
      if (this.#token === from) this.#recordFailure(failure);
      throw failure;
    }

    if (this.#token !== from) return;
    this.#token = refreshed.token;
    this.#times = times;
    this.#retryNotBefore = 0;
    this.#offset.observeIssuedAt(times.issuedAt, this.#now());
    this.#notify(this.#onToken, { token: refreshed.token, expires: times.expires });
  }

  #recordFailure(failure: TokenRefreshError): void {
    if (failure.terminal) {
      this.#failure = failure;
    } else {
      const delayMs = (failure.retryAfterSeconds ?? TRANSIENT_RETRY_DELAY_MS / 1000) * 1000;
      this.#retryNotBefore = this.#now() + delayMs;
    }
    this.#notify(this.#onRefreshError, failure);
  }

  /**
   * Checks whether the token expires within the margin and, for a token that has not expired
   * yet, whether the delay after a transient failure has passed.
   */
  #needsRefresh(): boolean {
    const remaining = this.#remainingMs();
    if (remaining > this.#effectiveMarginMs()) return false;
    return remaining <= 0 || this.#now() >= this.#retryNotBefore;
  }

  /** Milliseconds until the token expires by the server's estimated clock. */
  #remainingMs(): number {
    return this.#times.expires * 1000 - (this.#now() + this.#offset.milliseconds);
  }

  #effectiveMarginMs(): number {
    const { expires, issuedAt } = this.#times;
    if (issuedAt === undefined || issuedAt >= expires) return this.#marginMs;
    return Math.min(this.#marginMs, ((expires - issuedAt) * 1000) / 2);
  }

  #schedule(): void {
    this.#clearTimer();
    if (!this.#background || this.#closed || this.#failure !== undefined) return;

    const dueIn = Math.max(
      this.#remainingMs() - this.#effectiveMarginMs(),
      this.#retryNotBefore - this.#now(),
    );
    const delay = Math.min(Math.max(dueIn, MIN_TIMER_DELAY_MS), MAX_TIMER_DELAY_MS);
    const timer: unknown = setTimeout(() => this.#onTimer(), delay);
    // Node's timers keep the process alive unless unref'd; browsers return a number instead.
    if (
      typeof timer === 'object' &&
      timer !== null &&
      'unref' in timer &&
      typeof timer.unref === 'function'
    ) {
      timer.unref();
    }
    this.#timer = timer;
  }

  #onTimer(): void {
    this.#timer = undefined;
    if (this.#inFlight !== undefined || this.#needsRefresh()) {
      // Joins a refresh under way instead of starting a second one. A failure reaches
      // onRefreshError, since no caller awaits this refresh; the refresh reschedules the timer.
      void this.#startRefresh().catch(ignore);
    } else {
      this.#schedule();
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer as Parameters<typeof clearTimeout>[0]);
    this.#timer = undefined;
  }

  /**
   * Calls a caller's callback. An exception from it is rethrown on its own, as an uncaught
   * error, so a bug in the callback is seen without breaking the refresh that called it.
   */
  #notify<T>(callback: ((value: T) => void) | undefined, value: T): void {
    if (callback === undefined) return;
    try {
      callback(value);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

function ignore(): void {}

/** Waits for a promise, or rejects with the signal's reason as soon as the signal aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | null | undefined): Promise<T> {
  if (signal === undefined || signal === null) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);

  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Reads the times of a refreshed token. `expires` and `exp` should agree, and the earlier wins. */
function readRefreshedTimes(refreshed: TokenResponse): TokenTimes {
  let times: TokenTimes;
  try {
    times = readTokenTimes(refreshed.token);
  } catch (error) {
    throw new TokenRefreshError(`token refresh returned an ${(error as Error).message}`, {
      kind: 'invalid_response',
      cause: error,
    });
  }
  return { expires: Math.min(times.expires, refreshed.expires), issuedAt: times.issuedAt };
}

function asRefreshError(error: unknown): TokenRefreshError {
  if (error instanceof TokenRefreshError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new TokenRefreshError(`token refresh failed: ${message}`, {
    kind: 'network_error',
    cause: error,
  });
}
