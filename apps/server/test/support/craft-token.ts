import { createHmac } from 'node:crypto';

/** Encodes a JSON value (or raw text) as unpadded base64url. */
export function segment(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return Buffer.from(text, 'utf8').toString('base64url');
}

/**
 * Builds an HS256-signed compact token by hand, with any header and payload, so tests
 * can produce tokens that jose's own builders would refuse to create.
 */
export function craftToken(header: unknown, payload: unknown, secret: string): string {
  const signingInput = `${segment(header)}.${segment(payload)}`;
  const signature = createHmac('sha256', secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}
