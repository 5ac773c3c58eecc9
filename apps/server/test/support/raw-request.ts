import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * Sends one HTTP request with headers given as a flat name/value list, so a test can send
 * the same header twice, which fetch would merge into one. `localAddress` picks the loopback
 * address the request comes from, so a test can act as several clients.
 */
export function rawRequest(
  url: string,
  headers: string[] = [],
  method = 'GET',
  localAddress?: string,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // A header list replaces Node's defaults, so Host, which HTTP/1.1 requires, is added here.
    const options = { method, headers: ['Host', new URL(url).host, ...headers] };
    if (localAddress !== undefined) Object.assign(options, { localAddress });
    const outgoing = request(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}
