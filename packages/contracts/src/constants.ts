/** Lifetime of an issued token in seconds: the 60 minutes of the original v1 service. */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;

/** Clock tolerance in seconds applied to `exp`, `nbf` and `iat`. */
export const DEFAULT_LEEWAY_SECONDS = 30;

/** The realm named in every `WWW-Authenticate: Bearer` challenge. */
export const REALM = 'tdb';

/** Maximum token size in bytes. A longer token is rejected before any decoding. */
export const MAX_TOKEN_BYTES = 8192;

/** Maximum length of the `sub` claim, in UTF-16 code units (JavaScript string length). */
export const MAX_SUBJECT_LENGTH = 255;

/** Name of the query parameter that may carry the token instead of the `Authorization` header. */
export const TOKEN_QUERY_PARAMETER = 'token';

/** The exact message of a refresh refused because the user is locked. */
export const USER_LOCKED_MESSAGE = 'User is locked';

/** REST path of the refresh operation. */
export const TOKEN_PATH = '/v1/token';
