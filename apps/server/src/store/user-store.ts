/** A user record, with the fields the refresh step reads. */
export interface User {
  id: string;
  email: string | null;
  locked: boolean;
  /** Scopes granted to the user; a refreshed token keeps only scopes still in this list. */
  scopes: string[];
  /** ISO 8601 timestamps. */
  createdAt: string;
  updatedAt: string;
}

export interface NewUser {
  email?: string | undefined;
  scopes?: readonly string[] | undefined;
  locked?: boolean | undefined;
}

/**
 * The user store behind the refresh step. Every method rejects with StoreUnavailableError
 * when the database cannot be reached or read, and only then.
 */
export interface UserStore {
  findUser(id: string): Promise<User | undefined>;
  addUser(user: NewUser): Promise<User>;
  listUsers(): Promise<User[]>;
  /** Returns the changed user, or undefined when no user has that id. */
  setLocked(id: string, locked: boolean): Promise<User | undefined>;
  /** Returns false when no user has that id. */
  removeUser(id: string): Promise<boolean>;
  /** Resolves when the database returns the result of a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The database could not be reached or read. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/** A user with this email already exists. */
export class DuplicateEmailError extends Error {
  override name = 'DuplicateEmailError';

  constructor(readonly email: string) {
    super(`a user with email ${email} already exists`);
  }
}
