// Checks of the options a TokenSession is created with. A bad option is a TypeError that names
// the option and the expected form, raised when the session is created.

/** Seconds before expiry at which a call refreshes the token first, unless the caller sets it. */
export const DEFAULT_REFRESH_MARGIN_SECONDS = 60;

/** Returns the base URL, normalized and without a trailing slash. */
export function parseBaseUrl(value: unknown): string {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError(
      `invalid baseUrl ${JSON.stringify(value)}: expected an absolute http or https URL such as "https://api.example.com"`,
    );
  }
  return url.href.replace(/\/+$/, '');
}

/** Returns the origins that may receive the token: the base URL's and the listed ones. */
export function parseOrigins(
  value: readonly string[] | undefined,
  baseUrl: string,
): ReadonlySet<string> {
  const origins = new Set([new URL(baseUrl).origin]);
  if (value === undefined) return origins;
  if (!Array.isArray(value))
    throw new TypeError('invalid tokenOrigins: expected an array of origins');

  for (const entry of value) {
    let url: URL | undefined;
    try {
      url = typeof entry === 'string' ? new URL(entry) : undefined;
    } catch {
      url = undefined;
    }
    const bare = url !== undefined && url.pathname === '/' && url.search === '' && url.hash === '';
    if (url === undefined || !bare || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new TypeError(
        `invalid tokenOrigins entry ${JSON.stringify(entry)}: expected an origin such as "https://api.example.com", without a path`,
      );
    }
    origins.add(url.origin);
  }
  return origins;
}

export function parseMargin(value: unknown): number {
  if (value === undefined) return DEFAULT_REFRESH_MARGIN_SECONDS;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(
      `invalid refreshMarginSeconds ${JSON.stringify(value)}: expected a number of seconds, 0 or more`,
    );
  }
  return value;
}

export function requireToken(value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError('invalid token: expected a non-empty string');
  }
  return value;
}

export function requireFunction<T>(value: T | undefined, name: string): T {
  if (typeof value !== 'function') throw new TypeError(`invalid ${name}: expected a function`);
  return value;
}

export function optionalFunction<T>(value: T | undefined, name: string): T | undefined {
  if (value === undefined) return undefined;
  return requireFunction(value, name);
}
