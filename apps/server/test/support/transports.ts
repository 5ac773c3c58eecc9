import { craftToken } from './craft-token.js';
import type { TestServer } from './test-server.js';
import { TEST_SECRET } from './test-server.js';

export interface CallResult {
  status: number;
  headers: Headers;
  /** The REST body, or the tRPC `result.data` / `error` object. */
  body: Record<string, unknown>;
}

export interface Credentials {
  /** Sent as `Authorization: Bearer <bearer>`. */
  bearer?: string;
  /** A whole `Authorization` header value, for other schemes. */
  authorization?: string;
  /** Sent as the `token` query parameter (REST) or the `token` input field (tRPC). */
  token?: string;
}

function headersOf(credentials: Credentials): Record<string, string> {
  if (credentials.authorization !== undefined) return { authorization: credentials.authorization };
  if (credentials.bearer !== undefined) return { authorization: `Bearer ${credentials.bearer}` };
  return {};
}

/** Calls REST `GET /v1/token`. */
export async function callRest(
  server: TestServer,
  credentials: Credentials = {},
): Promise<CallResult> {
  const query =
    credentials.token === undefined ? '' : `?token=${encodeURIComponent(credentials.token)}`;
  const response = await fetch(`${server.url}/v1/token${query}`, {
    headers: headersOf(credentials),
  });
  const body = (await response.json()) as Record<string, unknown>;
  return { status: response.status, headers: response.headers, body };
}

/** Calls the tRPC query `token.refresh` the way @trpc/client does for a non-batched GET. */
export async function callTrpc(
  server: TestServer,
  credentials: Credentials = {},
): Promise<CallResult> {
  const input =
    credentials.token === undefined
      ? ''
      : `?input=${encodeURIComponent(JSON.stringify({ token: credentials.token }))}`;
  const response = await fetch(`${server.url}/trpc/token.refresh${input}`, {
    headers: headersOf(credentials),
  });
  const json = (await response.json()) as {
    result?: { data: Record<string, unknown> };
    error?: Record<string, unknown>;
  };
  return {
    status: response.status,
    headers: response.headers,
    body: json.result?.data ?? json.error ?? {},
  };
}

export const transports = [
  ['REST', callRest],
  ['tRPC', callTrpc],
] as const;

/** Returns the standard claims of a token for `sub` issued now by the test server. */
export function standardClaims(server: TestServer, sub: string): Record<string, unknown> {
  const iat = server.clock.seconds();
  return {
    sub,
    scope: [],
    iss: server.config.issuer,
    aud: server.config.audience,
    iat,
    exp: iat + server.config.tokenLifetimeSeconds,
    jti: 'test-jti',
  };
}

/** Signs claims with the test secret, with the server's `kid`, after applying changes to both parts. */
export function forgeToken(
  server: TestServer,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
  secret = TEST_SECRET,
): string {
  const fullHeader = { alg: 'HS256', typ: 'JWT', kid: server.keys.signing.kid, ...header };
  for (const [name, value] of Object.entries(fullHeader)) {
    if (value === undefined) delete fullHeader[name as keyof typeof fullHeader];
  }
  return craftToken(fullHeader, payload, secret);
}

/** Returns the payload with the named claims removed. */
export function without(
  payload: Record<string, unknown>,
  ...names: string[]
): Record<string, unknown> {
  const copy = { ...payload };
  for (const name of names) delete copy[name];
  return copy;
}

/** Decodes a token's payload without verifying it. */
export function decodePayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Decodes a token's protected header without verifying it. */
export function decodeHeader(token: string): Record<string, unknown> {
  const part = token.split('.')[0] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}
