/**
 * Resolves a request target against the base URL. A relative path such as `/v1/token` is
 * appended to the base URL, after any path prefix it has. Absolute URLs and Requests pass as
 * they are.
 */
export function resolveInput(input: Request | string | URL, baseUrl: string): Request | URL {
  if (input instanceof Request || input instanceof URL) return input;
  if (URL.canParse(input)) return new URL(input);
  return new URL(input.replace(/^\/+/, ''), `${baseUrl}/`);
}
