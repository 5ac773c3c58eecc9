import createClient, { type Client } from 'openapi-fetch';

import type { FetchFunction } from '../token-session.js';
import type { components, paths } from './openapi.js';

export type { components, operations, paths } from './openapi.js';
export { refreshOverRest } from './rest-refresh.js';

/** Body of a successful `GET /v1/token`, as the OpenAPI document describes it. */
export type TokenResponse = components['schemas']['TokenResponse'];

/** Body of every REST error response, as the OpenAPI document describes it. */
export type ErrorBody = components['schemas']['ErrorBody'];

/** An openapi-fetch client typed from the service's OpenAPI document alone. */
export type RestClient = Client<paths>;

export interface RestClientOptions {
  /** The service's base URL, such as `https://api.example.com`. */
  baseUrl: string;
  /**
   * The `fetch` to send requests with; default the global one. Pass a client's authenticated
   * `fetch` to have every request carry a token that is kept fresh.
   */
  fetch?: FetchFunction;
}

/**
 * Creates a REST client whose paths, parameters, responses and error bodies are typed from the
 * committed OpenAPI document, with no dependency on the server's code.
 */
export function createRestClient(options: RestClientOptions): RestClient {
  const custom = options.fetch;
  return createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    ...(custom === undefined ? {} : { fetch: (request: Request) => custom(request) }),
  });
}
