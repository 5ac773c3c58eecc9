import type { TestServer } from '../../../../apps/server/test/support/test-server.js';

export interface LoggedRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  status: number;
}

/** Returns the requests the server has completed, read from its one log line per request. */
export function loggedRequests(server: TestServer): LoggedRequest[] {
  const requests: LoggedRequest[] = [];
  for (const line of server.logs) {
    const entry = JSON.parse(line) as {
      msg?: string;
      method?: string;
      url?: string;
      status?: number;
    };
    if (entry.msg !== 'request completed' || entry.url === undefined) continue;
    requests.push({
      method: entry.method ?? '',
      path: entry.url.split('?')[0] ?? '',
      status: entry.status ?? 0,
    });
  }
  return requests;
}

/** Returns the refresh requests that reached the server over tRPC and REST. */
export function refreshRequests(server: TestServer): LoggedRequest[] {
  return loggedRequests(server).filter(
    (request) => request.path === '/trpc/token.refresh' || request.path === '/v1/token',
  );
}
