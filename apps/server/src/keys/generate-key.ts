import { generateKeyPairSync, randomBytes } from 'node:crypto';

import type { SigningAlgorithm } from './signing-key.js';

/**
 * Generates a new signing key in the form JWT_SIGNING_KEY takes: a base64url secret of
 * 32 random bytes for HS256, or a PKCS#8 PEM private key for the asymmetric algorithms.
 */
export function generateSigningKey(alg: SigningAlgorithm): string {
  switch (alg) {
    case 'HS256':
      return randomBytes(32).toString('base64url');
    case 'ES256':
      return pkcs8(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    case 'EdDSA':
      return pkcs8(generateKeyPairSync('ed25519').privateKey);
    case 'RS256':
      return pkcs8(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
  }
}

function pkcs8(key: import('node:crypto').KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString().trim();
}
