import { readFileSync } from 'node:fs';

import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createOpenApiDocument } from '../src/openapi.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const committedPath = new URL('../openapi.json', import.meta.url);

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

describe('OpenAPI document', () => {
  it('matches the committed openapi.json (regenerate with "pnpm openapi:write")', () => {
    const committed = JSON.parse(readFileSync(committedPath, 'utf8'));
    expect(createOpenApiDocument()).toEqual(committed);
  });

  it('validates against the OpenAPI 3.1 schema', async () => {
    const validator = new Validator();
    // The validator's input type wants an index signature, which the generated type lacks.
    const result = await validator.validate(
      createOpenApiDocument() as unknown as Record<string, unknown>,
    );

    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('documents GET /v1/token with 201 and the contract errors', () => {
    const operation = createOpenApiDocument().paths?.['/v1/token']?.get;
    const responses = operation?.responses ?? {};

    expect(Object.keys(responses)).toEqual(
      expect.arrayContaining(['201', '400', '401', '403', '405', '422', '503']),
    );
    expect(responses).not.toHaveProperty('200');
    expect(responses['201'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/TokenResponse',
    });
    for (const status of ['400', '401', '403', '405', '422', '503']) {
      expect(responses[status].content['application/json'].schema).toEqual({
        $ref: '#/components/schemas/ErrorBody',
      });
    }
    expect(operation?.security).toEqual([{ bearerAuth: [] }]);
    expect(operation?.parameters).toEqual([
      expect.objectContaining({ in: 'query', name: 'token' }),
    ]);
  });

  it('describes the error body exactly', () => {
    const schema = createOpenApiDocument().components?.schemas?.['ErrorBody'];

    expect(schema).toMatchObject({
      type: 'object',
      required: ['status', 'message', 'code'],
      additionalProperties: false,
    });
  });

  it('is served at /openapi.json', async () => {
    const response = await fetch(`${server.url}/openapi.json`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(createOpenApiDocument());
  });
});
