import {
  errorBodySchema,
  REALM,
  reasonPhrase,
  TOKEN_PATH,
  TOKEN_QUERY_PARAMETER,
} from '@tdb/contracts';
import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';

import { appRouter, refreshErrorStatuses } from './trpc/router.js';

const errorDescriptions: Record<(typeof refreshErrorStatuses)[number], string> = {
  400: 'The token was sent twice (header and query, two `Authorization` headers, or `token` repeated)',
  401: 'No token, or an invalid, expired or unknown token',
  403: 'The user is locked',
  405: 'Any method but GET',
  422: 'Token signing failed',
  429: 'Too many failed refreshes from this client address; every refresh is refused until the time in `Retry-After` has passed',
  503: 'The user store is unavailable',
};

/**
 * Generates the OpenAPI 3.1 document from the router, then states what the generator
 * cannot express: the 201 status, the contract's error body, and the response headers.
 */
export function createOpenApiDocument(): OpenAPIObject {
  const document = generateOpenApiDocument(appRouter, {
    title: 'Tarkov Database token API',
    description:
      'Refreshes the JSON Web Tokens of the Tarkov Database API. Every token has a limited lifetime; exchange a still valid token for a new one before it expires.',
    version: '1.0.0',
    baseUrl: '/',
    securitySchemes: {
      bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
    },
    defs: { ErrorBody: errorBodySchema },
  });

  const operation = document.paths?.[TOKEN_PATH]?.get;
  if (operation === undefined) throw new Error(`the router has no GET ${TOKEN_PATH} operation`);

  for (const parameter of operation.parameters ?? []) {
    if ('name' in parameter && parameter.name === TOKEN_QUERY_PARAMETER) {
      parameter.description =
        'The token to refresh, when it is not sent in the `Authorization` header. The header is recommended because query strings end up in logs. Sending both is a 400.';
    }
  }

  const success = operation.responses?.['200'];
  const responses: NonNullable<typeof operation.responses> = {
    '201': {
      ...success,
      description: 'Token successfully created',
      headers: { 'Cache-Control': header('Always `no-store`.') },
    },
  };
  for (const status of refreshErrorStatuses) {
    responses[String(status)] = {
      description: `${reasonPhrase(status)}: ${errorDescriptions[status]}`,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
      ...responseHeaders(status),
    };
  }
  operation.responses = responses;
  return document;
}

function responseHeaders(status: number) {
  switch (status) {
    case 400:
    case 401:
      return {
        headers: {
          'WWW-Authenticate': header(
            `The RFC 6750 challenge, for example \`Bearer realm="${REALM}", error="invalid_token", error_description="token expired"\`.`,
          ),
        },
      };
    case 405:
      return { headers: { Allow: header('The allowed methods: `GET`.') } };
    case 429:
      return { headers: { 'Retry-After': header('Seconds to wait before the next refresh.') } };
    default:
      return {};
  }
}

function header(description: string) {
  return { description, schema: { type: 'string' as const } };
}
