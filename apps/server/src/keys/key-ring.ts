import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { JSONWebKeySet, JWK } from 'jose';

import type { Config } from '../config.js';
import { makeDirectory } from '../make-directory.js';
import { generateSigningKey } from './generate-key.js';
import {
  KeyError,
  parseSigningKey,
  parseVerificationJwk,
  type SigningKey,
  type VerificationKey,
} from './signing-key.js';

/** The current signing key plus every key a token may still be verified with, by `kid`. */
export interface KeyRing {
  signing: SigningKey;
  verification: ReadonlyMap<string, VerificationKey>;
  /** Public keys for /.well-known/jwks.json; empty for HMAC secrets, which are never published. */
  jwks: JSONWebKeySet;
}

export interface KeyRingLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

export const GENERATED_KEY_FILE = 'signing-key';

/**
 * Loads the signing key and the verification keys named by the configuration.
 * With no key configured it generates one into DATA_DIR, unless the process runs in production.
 */
export async function loadKeyRing(config: Config, log?: KeyRingLog): Promise<KeyRing> {
  const signing = await loadSigningKey(config, log);
  const verification = new Map<string, VerificationKey>([[signing.kid, signing]]);

  if (config.verifyKeysFile !== undefined) {
    for (const key of await readVerificationKeys(config.verifyKeysFile)) {
      if (!verification.has(key.kid)) verification.set(key.kid, key);
    }
  }

  const keys: JWK[] = [];
  for (const key of verification.values()) {
    if (key.publicJwk !== undefined) keys.push(key.publicJwk);
  }
  return { signing, verification, jwks: { keys } };
}

async function loadSigningKey(config: Config, log?: KeyRingLog): Promise<SigningKey> {
  if (config.signingKey !== undefined) {
    return parseSigningKey(config.signingKey, config.signingKeySource ?? 'JWT_SIGNING_KEY');
  }

  if (config.production) {
    throw new KeyError(
      'JWT_SIGNING_KEY',
      'Missing JWT_SIGNING_KEY: with NODE_ENV=production a signing key must be configured. Set JWT_SIGNING_KEY or JWT_SIGNING_KEY_FILE (generate one with "tdb key generate").',
    );
  }

  const file = path.join(config.dataDir, GENERATED_KEY_FILE);
  if (createGeneratedKey(file)) {
    log?.warn(
      { file },
      'No signing key configured: generated a random HS256 secret. Set JWT_SIGNING_KEY or JWT_SIGNING_KEY_FILE before running in production.',
    );
  }
  return parseSigningKey(readFileSync(file, 'utf8'), file);
}

/** Writes a new secret to `file` unless it exists; returns true when it wrote one. */
function createGeneratedKey(file: string): boolean {
  makeDirectory(path.dirname(file));
  try {
    // The exclusive flag keeps a server and a CLI started together from writing two different keys.
    writeFileSync(file, `${generateSigningKey('HS256')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  chmodSync(file, 0o600);
  return true;
}

async function readVerificationKeys(file: string): Promise<VerificationKey[]> {
  const variable = 'JWT_VERIFY_KEYS_FILE';
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const reason =
      error instanceof SyntaxError
        ? 'not valid JSON'
        : ((error as NodeJS.ErrnoException).code ?? 'unreadable');
    throw new KeyError(
      variable,
      `Invalid ${variable}: cannot read ${file} (${reason}). Expected a JWKS: {"keys": [...]}.`,
    );
  }

  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) {
    throw new KeyError(
      variable,
      `Invalid ${variable}: ${file} is not a JWKS. Expected {"keys": [...]}.`,
    );
  }

  const result: VerificationKey[] = [];
  for (const jwk of keys) {
    if (typeof jwk !== 'object' || jwk === null) {
      throw new KeyError(
        variable,
        `Invalid ${variable}: every entry of "keys" must be a JWK object.`,
      );
    }
    result.push(await parseVerificationJwk(jwk as JWK, variable));
  }
  return result;
}
