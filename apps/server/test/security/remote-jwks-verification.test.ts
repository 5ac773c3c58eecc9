import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../../src/cli/run-cli.js';
import { generateSigningKey } from '../../src/keys/generate-key.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { refresh, send } from './security-support.js';

const cliPath = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

let folder: string;

beforeAll(() => {
  folder = mkdtempSync(path.join(tmpdir(), 'tdb-remote-'));
});

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

/** Prints a signing key with the CLI, the way an operator creates one. */
async function cliKey(alg: string): Promise<string> {
  let key = '';
  const status = await runCli(['key', 'generate', '--alg', alg], {
    stdout: (text) => {
      key += text;
    },
    stderr: () => undefined,
    env: {},
  });
  expect(status).toBe(0);
  return key;
}

async function refreshedToken(server: TestServer): Promise<{ token: string; userId: string }> {
  const user = await server.addUser({ scopes: ['read'] });
  const result = await refresh(server, 'REST', `Bearer ${await server.issueToken(user.id)}`);
  expect(result.status).toBe(201);
  return { token: result.body?.['token'] as string, userId: user.id };
}

/**
 * Verifies a token the way another service would, given only the JWKS URL, the issuer
 * and the audience. The current date is the server's frozen clock.
 */
function verifyElsewhere(server: TestServer, token: string, audience = server.config.audience) {
  const keySet = createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));
  return jwtVerify(token, keySet, {
    issuer: server.config.issuer,
    audience,
    currentDate: new Date(server.clock.now()),
  });
}

describe('verification by another service through the JWKS URL', () => {
  it.each(['EdDSA', 'ES256', 'RS256'])(
    'accepts a refreshed token from a server started with "tdb key generate --alg %s"',
    async (alg) => {
      await using server = await startTestServer({ env: { JWT_SIGNING_KEY: await cliKey(alg) } });
      const { token, userId } = await refreshedToken(server);

      const { payload, protectedHeader } = await verifyElsewhere(server, token);

      expect(protectedHeader).toEqual({ alg, typ: 'JWT', kid: server.keys.signing.kid });
      expect(payload.sub).toBe(userId);
      expect(payload['scope']).toEqual(['read']);
    },
  );

  it('rejects a token for another audience', async () => {
    await using server = await startTestServer({ env: { JWT_SIGNING_KEY: await cliKey('EdDSA') } });
    const { token } = await refreshedToken(server);

    await expect(verifyElsewhere(server, token, 'another-api')).rejects.toBeInstanceOf(
      errors.JWTClaimValidationFailed,
    );
  });

  it('rejects a token signed by another key under the same kid', async () => {
    await using server = await startTestServer({ env: { JWT_SIGNING_KEY: await cliKey('EdDSA') } });
    await using impostor = await startTestServer({
      env: { JWT_SIGNING_KEY: await cliKey('EdDSA') },
    });
    const { token } = await refreshedToken(impostor);
    const [, payload, signature] = token.split('.');
    const header = Buffer.from(
      JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid: server.keys.signing.kid }),
    ).toString('base64url');

    await expect(
      verifyElsewhere(server, `${header}.${payload}.${signature}`),
    ).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
  });

  it('accepts a token of a listed retired key', async () => {
    const retired = generateSigningKey('ES256');
    const before = await startTestServer({ env: { JWT_SIGNING_KEY: retired } });
    const user = await before.addUser();
    const oldToken = await before.issueToken(user.id);
    const retiredKeysFile = path.join(folder, 'retired-keys.json');
    writeFileSync(retiredKeysFile, (await send(`${before.url}/.well-known/jwks.json`)).body);
    await before.close();

    await using server = await startTestServer({
      env: { JWT_SIGNING_KEY: await cliKey('EdDSA'), JWT_VERIFY_KEYS_FILE: retiredKeysFile },
    });

    const { payload, protectedHeader } = await verifyElsewhere(server, oldToken);
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.sub).toBe(user.id);
  });

  it('cannot verify the tokens of an HS256 server, whose secret is never published', async () => {
    await using server = await startTestServer();
    const { token } = await refreshedToken(server);

    // jose 6 refuses symmetric algorithms for a remote key set before it looks for a key.
    await expect(verifyElsewhere(server, token)).rejects.toBeInstanceOf(errors.JOSENotSupported);
  });
});

describe('a separate tdb process signing with "tdb key generate --alg EdDSA" output', () => {
  let server: ChildProcess | undefined;

  afterAll(async () => {
    if (server?.exitCode === null) {
      const exited = new Promise((resolve) => server?.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
  });

  /** Runs the built CLI to completion and returns its standard output. */
  function tdb(args: string[], env: Record<string, string>): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(process.execPath, [cliPath, ...args], { env }, (error, stdout, stderr) => {
        if (error === null) resolve(stdout.trim());
        else reject(new Error(`tdb ${args.join(' ')} failed: ${stderr.trim()}`));
      });
    });
  }

  /** Starts `tdb serve` on an ephemeral port of 127.0.0.1 and returns its base URL. */
  function serve(env: Record<string, string>): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [cliPath, 'serve'], {
        env: { ...env, HOST: '127.0.0.1', PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      server = child;
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const address = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (address?.[1] !== undefined) resolve(address[1]);
      });
      child.once('exit', (code) =>
        reject(new Error(`tdb serve exited with ${code} before listening`)),
      );
    });
  }

  it('refreshes a token that jose verifies through the JWKS URL alone', async () => {
    if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run "pnpm build" first`);
    const dataDir = path.join(folder, 'separate-process');
    const key = await tdb(['key', 'generate', '--alg', 'EdDSA'], {
      PATH: process.env['PATH'] ?? '',
    });
    const env = {
      PATH: process.env['PATH'] ?? '',
      DATA_DIR: dataDir,
      JWT_SIGNING_KEY: key,
      LOG_LEVEL: 'info',
    };
    const userId = await tdb(['user', 'add', '--scope', 'read'], env);
    const firstToken = await tdb(['token', 'issue', userId], env);
    const url = await serve(env);

    const response = await fetch(`${url}/v1/token`, {
      headers: { authorization: `Bearer ${firstToken}` },
    });
    expect(response.status).toBe(201);
    const { token } = (await response.json()) as { token: string };

    // The server runs on the real clock in its own process, so the verifier does too.
    const keySet = createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(token, keySet, {
      issuer: 'tdb',
      audience: 'tdb-api',
    });
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(payload.sub).toBe(userId);
    expect(payload['scope']).toEqual(['read']);
  });
});
