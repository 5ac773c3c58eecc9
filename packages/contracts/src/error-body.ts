import { reasonPhrase } from './failures.js';
import type { ErrorBody } from './schemas.js';

/** Builds the contract error body for a status, with the message folded onto one line. */
export function errorBody(status: number, message: string): ErrorBody {
  return { status: reasonPhrase(status), message: toOneLine(message), code: status };
}

/** Collapses line breaks and runs of white space so a message always fits on one line. */
export function toOneLine(message: string): string {
  return message.replace(/\s+/g, ' ').trim();
}
