export const usage = `Usage: tdb <command> [options]

Commands:
  serve                                  start the server
  user add [--email E] [--scope S]... [--locked] [--json]
                                         create a user and print its id
  user list [--json]                     list users
  user lock ID | user unlock ID          lock or unlock a user
  user remove ID                         delete a user
  token issue ID [--scope S]... [--json] print a first token for a user
  key generate [--alg HS256|ES256|EdDSA|RS256]
                                         print a new signing key for JWT_SIGNING_KEY
                                         (HS256 unless --alg says otherwise)
  openapi                                print the OpenAPI document

Configuration comes from the same environment variables as the server (DATA_DIR, DATABASE_URL,
JWT_SIGNING_KEY, ...). Exit status: 0 on success, 1 on failure, 2 on a usage error.
"tdb help" or --help after any command prints this text.`;

/** A command line that does not match any command; exits with status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
