import { createHmac, type KeyObject, sign } from 'node:crypto';

import { expect } from 'vitest';

import { segment } from '../support/craft-token.js';
import { type RawResponse, rawRequest } from '../support/raw-request.js';
import type { TestServer } from '../support/test-server.js';
import { standardClaims } from '../support/transports.js';

/** Key material that signs a hand-made token; the algorithm is always the one given here. */
export type CraftingKey =
  | { alg: 'HS256'; secret: string | Uint8Array }
  | { alg: 'ES256' | 'EdDSA' | 'RS256'; privateKey: KeyObject };

/** A header or payload: a JSON value, raw text (encoded as is), or raw bytes. */
export type TokenPart = Record<string, unknown> | string | Uint8Array;

/**
 * Builds a compact JWS with any header and payload and signs it with the given key, so a
 * test can send tokens that a JOSE library would refuse to build, yet whose signature is valid.
 */
export function signCompact(header: TokenPart, payload: TokenPart, key: CraftingKey): string {
  const signingInput = `${encodePart(header)}.${encodePart(payload)}`;
  return `${signingInput}.${signatureOf(signingInput, key)}`;
}

function encodePart(part: TokenPart): string {
  if (part instanceof Uint8Array) return Buffer.from(part).toString('base64url');
  return segment(part);
}

function signatureOf(signingInput: string, key: CraftingKey): string {
  const data = Buffer.from(signingInput, 'ascii');
  switch (key.alg) {
    case 'HS256':
      return createHmac('sha256', key.secret).update(data).digest('base64url');
    case 'ES256':
      // JWS carries the raw r || s pair (RFC 7518 section 3.4), not DER.
      return sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString(
        'base64url',
      );
    case 'EdDSA':
      return sign(null, data, key.privateKey).toString('base64url');
    case 'RS256':
      return sign('sha256', data, key.privateKey).toString('base64url');
  }
}

/** Returns the claims of a valid token for `sub`, issued at the server's frozen time. */
export function validClaims(server: TestServer, sub: string): Record<string, unknown> {
  return { ...standardClaims(server, sub), jti: 'security-test' };
}

export const transports = ['REST', 'tRPC'] as const;
export type Transport = (typeof transports)[number];

export interface RefreshResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  body: Record<string, unknown> | undefined;
  /** The REST body's `message`, or the tRPC error's `message`. */
  message: string | undefined;
  /** The `httpStatus` of a tRPC error; undefined on REST. */
  trpcHttpStatus: number | undefined;
}

export interface RefreshOptions {
  /** Extra headers as a flat name/value list. */
  headers?: string[];
  /** Local address to send from, for example `127.0.0.2`; still a loopback address. */
  localAddress?: string;
}

/**
 * Calls the refresh operation with an exact `Authorization` value (none when undefined):
 * REST `GET /v1/token`, or tRPC `GET /trpc/token.refresh` as @trpc/client sends it.
 */
export async function refresh(
  server: TestServer,
  transport: Transport,
  authorization: string | undefined,
  options: RefreshOptions = {},
): Promise<RefreshResult> {
  const path = transport === 'REST' ? '/v1/token' : '/trpc/token.refresh';
  const headers = [...(options.headers ?? [])];
  if (authorization !== undefined) headers.push('Authorization', authorization);

  const response = await send(`${server.url}${path}`, headers, 'GET', options.localAddress);
  let body: Record<string, unknown> | undefined;
  try {
    body = JSON.parse(response.body) as Record<string, unknown>;
  } catch {
    body = undefined;
  }

  const error = body?.['error'] as { message?: string; data?: { httpStatus?: number } } | undefined;
  return {
    status: response.status,
    headers: response.headers,
    body,
    message: transport === 'REST' ? (body?.['message'] as string | undefined) : error?.message,
    trpcHttpStatus: error?.data?.httpStatus,
  };
}

export type SentResponse = RawResponse;

/** Sends one HTTP request to the test server on 127.0.0.1, optionally from another loopback address. */
export const send = rawRequest;

/**
 * Asserts a 401 with `error="invalid_token"` in the challenge and a message matching
 * `message`, on either transport; a 5xx or a 201 fails here.
 */
export function expectInvalidToken(
  result: RefreshResult,
  transport: Transport,
  message: RegExp,
): void {
  expect(result.status).toBe(401);
  expect(result.headers['www-authenticate']).toContain('error="invalid_token"');
  expect(result.message).toMatch(message);
  if (transport === 'tRPC') expect(result.trpcHttpStatus).toBe(401);
}

/** Decodes one segment of a compact token as JSON without verifying anything. */
export function decodeSegment(token: string, index: 0 | 1): Record<string, unknown> {
  const part = token.split('.')[index] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}
