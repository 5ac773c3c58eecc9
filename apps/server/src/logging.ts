import { type Logger, pino } from 'pino';

import type { Config } from './config.js';
import { redactUrl } from './http/redact.js';

/**
 * Creates the process logger. Request headers are never serialized, and the URL is logged
 * with the values of token-bearing query parameters replaced, so no token reaches a log.
 */
export function createLogger(
  config: Pick<Config, 'logLevel'>,
  stream?: NodeJS.WritableStream,
): Logger {
  const options = {
    level: config.logLevel,
    serializers: {
      req: (request: { method: string; url: string; id: string }) => ({
        method: request.method,
        url: redactUrl(request.url),
        reqId: request.id,
      }),
    },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token'],
      censor: '[REDACTED]',
    },
  };
  return stream === undefined ? pino(options) : pino(options, stream as pino.DestinationStream);
}
