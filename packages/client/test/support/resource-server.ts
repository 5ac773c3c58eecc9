import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { verifyToken } from '../../../../apps/server/src/tokens/verify-token.js';
import type { TestServer } from '../../../../apps/server/test/support/test-server.js';

export interface ResourceRequest {
  /** The Bearer token the request carried, or undefined. Kept for assertions, never printed. */
  token: string | undefined;
  status: number;
  /** The request body as text. */
  body: string;
  /** The server clock's time when the request arrived, in Unix seconds. */
  atSeconds: number;
}

/**
 * Another API endpoint on 127.0.0.1, of the kind the authenticated fetch is meant to call. It
 * verifies each Bearer token with the token server's keys and clock, with no leeway, and
 * responds with 200 or 401. A test can make it reject chosen tokens, or every request.
 */
export interface ResourceServer extends AsyncDisposable {
  /** URL of the protected resource. */
  url: string;
  origin: string;
  requests: ResourceRequest[];
  /** Tokens rejected with 401 even though they verify. */
  rejectedTokens: Set<string>;
  /** When true, every request gets 401. */
  rejectAll: boolean;
  /** Holds each response until the promise resolves, when set. */
  hold: Promise<void> | undefined;
  close(): Promise<void>;
}

export async function startResourceServer(tokenServer: TestServer): Promise<ResourceServer> {
  const requests: ResourceRequest[] = [];
  const rules = {
    issuer: tokenServer.config.issuer,
    audience: tokenServer.config.audience,
    leewaySeconds: 0,
    graceSeconds: 0,
  };

  const resource = {
    requests,
    rejectedTokens: new Set<string>(),
    rejectAll: false,
    hold: undefined as Promise<void> | undefined,
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const atSeconds = tokenServer.clock.now() / 1000;
    const match = /^Bearer +(\S+)$/i.exec(request.headers.authorization ?? '');
    const token = match?.[1];
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);

    let status = 200;
    let body: unknown = { ok: true };
    if (token === undefined || resource.rejectAll || resource.rejectedTokens.has(token)) {
      status = 401;
      body = { message: 'token rejected' };
    } else {
      try {
        const verified = await verifyToken(token, tokenServer.keys, rules, atSeconds);
        body = { sub: verified.claims.sub };
      } catch (error) {
        status = 401;
        body = { message: (error as Error).message };
      }
    }
    requests.push({ token, status, body: Buffer.concat(chunks).toString('utf8'), atSeconds });

    if (resource.hold !== undefined) await resource.hold;
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string')
    throw new Error('resource server has no TCP address');

  const close = () =>
    new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((error) => (error === undefined ? resolve() : reject(error)));
    });
  const origin = `http://127.0.0.1:${address.port}`;

  return Object.assign(resource, {
    url: `${origin}/items`,
    origin,
    close,
    [Symbol.asyncDispose]: close,
  });
}
