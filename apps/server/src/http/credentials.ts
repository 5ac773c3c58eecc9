import { TOKEN_QUERY_PARAMETER } from '@tdb/contracts';

import { invalidToken, ServiceError } from '../service-error.js';

/** The token sources of a request, read from the raw HTTP request. */
export interface Credentials {
  /** Every `Authorization` header value, in order; Node keeps only the first in `req.headers`. */
  authorization: string[];
  /** Every value of the `token` query parameter (REST) or of the `token` input field (tRPC). */
  tokens: string[];
}

const authorizationPattern = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +(.*))?$/;

/** Reads every `Authorization` header from Node's raw header list, which keeps duplicates. */
export function authorizationHeaders(rawHeaders: readonly string[]): string[] {
  const values: string[] = [];
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index];
    if (name !== undefined && name.length === 13 && name.toLowerCase() === 'authorization') {
      values.push(rawHeaders[index + 1] ?? '');
    }
  }
  return values;
}

/** Reads every value of the `token` query parameter from a request URL. */
export function queryTokens(url: string): string[] {
  const start = url.indexOf('?');
  if (start === -1) return [];
  return new URLSearchParams(url.slice(start + 1)).getAll(TOKEN_QUERY_PARAMETER);
}

/**
 * Picks the one token a request carries, or rejects the request: 400 for a token sent twice,
 * 401 without `error` when there is no Bearer token at all (RFC 6750 section 3.1).
 */
export function selectToken(credentials: Credentials): string {
  if (credentials.authorization.length > 1) {
    throw new ServiceError(
      'invalid_request',
      'ERR_AUTHORIZATION_REPEATED',
      `request has ${credentials.authorization.length} Authorization headers; send exactly one`,
    );
  }
  if (credentials.tokens.length > 1) {
    throw new ServiceError(
      'invalid_request',
      'ERR_TOKEN_PARAMETER_REPEATED',
      `the "${TOKEN_QUERY_PARAMETER}" parameter is repeated; send it once`,
    );
  }

  const headerToken = bearerToken(credentials.authorization[0]);
  const parameterToken = credentials.tokens[0];

  if (headerToken !== undefined && parameterToken !== undefined) {
    throw new ServiceError(
      'invalid_request',
      'ERR_TOKEN_SENT_TWICE',
      `token sent both in the Authorization header and in the "${TOKEN_QUERY_PARAMETER}" parameter; send it once`,
    );
  }

  const token = headerToken ?? parameterToken;
  if (token === undefined) {
    throw new ServiceError(
      'token_missing',
      'ERR_TOKEN_MISSING',
      'token missing: send Authorization: Bearer <token>',
    );
  }
  if (token === '') {
    throw invalidToken('ERR_TOKEN_EMPTY', 'token is empty');
  }
  return token;
}

/** Returns the credentials of a Bearer `Authorization` value, or undefined for another scheme. */
function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;

  const match = authorizationPattern.exec(header.trim());
  if (match === null) {
    if (/^bearer(\s|$)/i.test(header.trim()))
      throw invalidToken('ERR_JWS_INVALID', 'token malformed');
    return undefined;
  }
  if (match[1]?.toLowerCase() !== 'bearer') return undefined;
  return (match[2] ?? '').trim();
}
