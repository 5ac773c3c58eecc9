import { TOKEN_QUERY_PARAMETER } from '@tdb/contracts';

/** Query parameters whose values may hold a token: REST `token`, and tRPC `input` (JSON with `token`). */
const secretParameters = new Set([TOKEN_QUERY_PARAMETER, 'input']);

/** Returns the URL with the value of every token-bearing query parameter replaced by `[REDACTED]`. */
export function redactUrl(url: string): string {
  const start = url.indexOf('?');
  if (start === -1) return url;

  const parts = url
    .slice(start + 1)
    .split('&')
    .map((part) => {
      const separator = part.indexOf('=');
      const rawName = separator === -1 ? part : part.slice(0, separator);
      let name: string;
      try {
        name = decodeURIComponent(rawName.replaceAll('+', ' '));
      } catch {
        return '[REDACTED]';
      }
      return secretParameters.has(name) ? `${rawName}=[REDACTED]` : part;
    });
  return `${url.slice(0, start)}?${parts.join('&')}`;
}
