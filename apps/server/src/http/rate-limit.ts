import { isIPv6 } from 'node:net';

import { TRPCError } from '@trpc/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { ServiceError } from '../service-error.js';
import { refreshTransport } from './refresh-route.js';
import { type HttpFailure, sendFailure } from './rest-errors.js';

export interface FailedRefreshLimitOptions {
  /** Failed refreshes one client address may make per window; 0 turns the limit off. */
  limit: number;
  windowSeconds: number;
  /** Current time in milliseconds; tests freeze it. */
  now: () => number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Seconds until the client may refresh again; set only when its address is over the limit. */
    retryAfterSeconds: number | undefined;
  }
}

/** A failed refresh is a rejected credential (400, 401) or a locked user (403). */
const failureStatuses = new Set([400, 401, 403]);

/** Upper bound on the addresses tracked at once, so many distinct clients cannot exhaust memory. */
const MAX_TRACKED_CLIENTS = 10_000;

interface FailureWindow {
  /** Start of the window in milliseconds: the time of the first failure counted in it. */
  startedAt: number;
  failures: number;
}

/**
 * Limits repeated failed refreshes per client address, on REST and tRPC. A client whose
 * failures reach the limit within one fixed window gets 429 with `Retry-After` for every
 * refresh, valid or not, until the window ends. Successful refreshes neither count nor reset.
 *
 * NOTE: the client address is the TCP peer, so behind a reverse proxy every client shares
 * the proxy's address and therefore one budget.
 */
export function registerFailedRefreshLimit(
  app: FastifyInstance,
  options: FailedRefreshLimitOptions,
): void {
  app.decorateRequest('retryAfterSeconds', undefined);
  if (options.limit === 0) return;

  const windowMs = options.windowSeconds * 1000;
  const windows = new Map<string, FailureWindow>();

  const currentWindow = (client: string, now: number): FailureWindow | undefined => {
    const window = windows.get(client);
    if (window !== undefined && now >= window.startedAt + windowMs) {
      windows.delete(client);
      return undefined;
    }
    return window;
  };

  // Callback hooks: a refresh that passes both costs no promise.
  app.addHook('onRequest', (request, reply, done) => {
    const failure = limitFailure(request, reply);
    if (failure === undefined) return done();

    request.failure = failure;
    reply.header('cache-control', 'no-store');
    sendFailure(reply, failure);
  });

  /** Returns the 429 failure of a REST refresh over the limit. tRPC's is raised in its context. */
  function limitFailure(request: FastifyRequest, reply: FastifyReply): HttpFailure | undefined {
    // With no address tracked, which is the usual state, nothing below can apply.
    if (windows.size === 0) return undefined;
    const transport = refreshTransport(request);
    if (transport === undefined) return undefined;

    const now = options.now();
    const window = currentWindow(clientKey(request.ip), now);
    if (window === undefined || window.failures < options.limit) return undefined;

    const retryAfter = Math.max(1, Math.ceil((window.startedAt + windowMs - now) / 1000));
    request.retryAfterSeconds = retryAfter;
    reply.header('retry-after', String(retryAfter));
    if (transport === 'trpc') return undefined; // createContext raises the tRPC error, see rejectIfRateLimited.

    return {
      status: 429,
      message: rateLimitedMessage(retryAfter),
      reason: 'ERR_RATE_LIMITED',
      kind: 'rate_limited',
    };
  }

  app.addHook('onResponse', (request, reply, done) => {
    countFailure(request, reply);
    done();
  });

  /** Counts a failed refresh against its client's window, opening a window if it has none. */
  function countFailure(request: FastifyRequest, reply: FastifyReply): void {
    if (!failureStatuses.has(reply.statusCode)) return;
    if (request.retryAfterSeconds !== undefined) return;
    if (refreshTransport(request) === undefined) return;

    const now = options.now();
    const client = clientKey(request.ip);
    const window = currentWindow(client, now);
    if (window !== undefined) {
      window.failures += 1;
      if (window.failures === options.limit) {
        request.log.warn(
          {
            clientAddress: client,
            failures: window.failures,
            windowSeconds: options.windowSeconds,
          },
          'failed-refresh limit reached; refreshes from this address get 429 until the window ends',
        );
      }
      return;
    }

    if (windows.size >= MAX_TRACKED_CLIENTS) evictClients(windows, now, windowMs);
    windows.set(client, { startedAt: now, failures: 1 });
  }
}

/**
 * Raises the tRPC error for a request that the failed-refresh limit stopped. Called from
 * the tRPC context factory, so tRPC callers get tRPC's error shape with `httpStatus` 429.
 */
export function rejectIfRateLimited(request: FastifyRequest): void {
  const retryAfter = request.retryAfterSeconds;
  if (retryAfter === undefined) return;

  const message = rateLimitedMessage(retryAfter);
  throw new TRPCError({
    code: 'TOO_MANY_REQUESTS',
    message,
    cause: new ServiceError('rate_limited', 'ERR_RATE_LIMITED', message),
  });
}

function rateLimitedMessage(retryAfter: number): string {
  return `too many failed refreshes from this address; retry after ${retryAfter} seconds`;
}

/**
 * Returns the key an address is counted under: the IPv4 address (also when IPv4-mapped),
 * or the /64 prefix of an IPv6 address, because one IPv6 host is usually given a whole /64.
 */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!isIPv6(address)) return address;

  const [head = '', tail = ''] = address.split('%')[0]?.split('::') ?? [];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const missing = address.includes('::') ? 8 - headGroups.length - tailGroups.length : 0;
  const groups = [...headGroups, ...Array<string>(Math.max(0, missing)).fill('0'), ...tailGroups];
  const prefix = groups.slice(0, 4).map((group) => Number.parseInt(group, 16).toString(16));
  return `${prefix.join(':')}::/64`;
}

/** Drops every expired window, then the oldest ones until there is room for one more client. */
function evictClients(windows: Map<string, FailureWindow>, now: number, windowMs: number): void {
  for (const [client, window] of windows) {
    if (now >= window.startedAt + windowMs) windows.delete(client);
  }
  for (const client of windows.keys()) {
    if (windows.size < MAX_TRACKED_CLIENTS) break;
    windows.delete(client);
  }
}
