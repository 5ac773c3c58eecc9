import type { Credentials } from '../http/credentials.js';
import type { RefreshDependencies, RefreshOutcome } from '../refresh/refresh-token.js';

/** The context of every procedure: the request's credentials and the refresh dependencies. */
export interface Context {
  /** Token sources read from the HTTP request; the tRPC `token` input is added by the procedure. */
  credentials: Credentials;
  services: RefreshDependencies;
  /** Set by the refresh procedure on success, so the HTTP layer can log the user id. */
  outcome?: RefreshOutcome;
}
