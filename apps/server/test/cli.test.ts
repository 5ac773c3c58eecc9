import { execFile, spawn } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestServer, TEST_SECRET, type TestServer } from './support/test-server.js';
import { callRest, decodePayload } from './support/transports.js';

const cliPath = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

let dataDir: string;

function tdb(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliPath, ...args],
      {
        env: {
          PATH: process.env['PATH'] ?? '',
          DATA_DIR: dataDir,
          JWT_SIGNING_KEY: TEST_SECRET,
          ...env,
        },
      },
      (error, stdout, stderr) => {
        let status = 0;
        if (error !== null) status = typeof error.code === 'number' ? error.code : 1;
        resolve({ status, stdout: stdout.trim(), stderr: stderr.trim() });
      },
    );
  });
}

beforeAll(() => {
  if (!existsSync(cliPath))
    throw new Error(`${cliPath} is missing: run "pnpm build" before the CLI tests`);
  dataDir = mkdtempSync(path.join(tmpdir(), 'tdb-cli-'));
});

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('tdb user', () => {
  // Node 20's recursive mkdir never returns for a path under /proc, so the CLI must not use it there.
  it.runIf(existsSync('/proc/self'))('fails fast on a data folder it cannot create', async () => {
    const result = await tdb(['user', 'list'], { DATA_DIR: '/proc/tdb-no-such-directory' });

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('cannot open the SQLite user store');
    expect(result.stderr).toContain('ENOENT');
  });

  it('adds a user and prints its id', async () => {
    const result = await tdb(['user', 'add', '--email', 'ann@example.com', '--scope', 'read']);

    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('adds a user with --json', async () => {
    const result = await tdb([
      'user',
      'add',
      '--scope',
      'read',
      '--scope',
      'write',
      '--locked',
      '--json',
    ]);

    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      email: null,
      locked: true,
      scopes: ['read', 'write'],
    });
  });

  it('refuses a second user with the same email', async () => {
    await tdb(['user', 'add', '--email', 'dup@example.com']);
    const result = await tdb(['user', 'add', '--email', 'DUP@example.com']);

    expect(result.status).toBe(1);
    expect(result.stderr).toBe('tdb: a user with email DUP@example.com already exists');
  });

  it('lists users as a table and as JSON', async () => {
    const id = (await tdb(['user', 'add', '--email', 'list@example.com'])).stdout;

    const table = await tdb(['user', 'list']);
    const json = await tdb(['user', 'list', '--json']);

    expect(table.status).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+EMAIL\s+STATE\s+SCOPES\s+CREATED$/);
    expect(table.stdout).toContain(id);
    expect(json.status).toBe(0);
    expect((JSON.parse(json.stdout) as { id: string }[]).map((user) => user.id)).toContain(id);
  });

  it('locks, unlocks and removes a user', async () => {
    const id = (await tdb(['user', 'add'])).stdout;

    expect(await tdb(['user', 'lock', id])).toMatchObject({
      status: 0,
      stdout: `user ${id} locked`,
    });
    expect(JSON.parse((await tdb(['user', 'list', '--json'])).stdout)).toContainEqual(
      expect.objectContaining({ id, locked: true }),
    );
    expect(await tdb(['user', 'unlock', id])).toMatchObject({
      status: 0,
      stdout: `user ${id} unlocked`,
    });
    expect(await tdb(['user', 'remove', id])).toMatchObject({
      status: 0,
      stdout: `user ${id} removed`,
    });
    expect(JSON.parse((await tdb(['user', 'list', '--json'])).stdout)).not.toContainEqual(
      expect.objectContaining({ id }),
    );
  });

  it.each([['lock'], ['unlock'], ['remove']])(
    'fails with 1 to %s a missing user',
    async (action) => {
      const result = await tdb(['user', action, 'no-such-user']);

      expect(result.status).toBe(1);
      expect(result.stderr).toBe('tdb: user no-such-user not found');
    },
  );
});

describe('tdb token issue', () => {
  it('prints a token for the user with its scopes', async () => {
    const id = (await tdb(['user', 'add', '--scope', 'read', '--scope', 'write'])).stdout;

    const result = await tdb(['token', 'issue', id]);

    expect(result.status).toBe(0);
    expect(result.stdout.split('.')).toHaveLength(3);
    expect(decodePayload(result.stdout)).toMatchObject({
      sub: id,
      scope: ['read', 'write'],
      iss: 'tdb',
      aud: 'tdb-api',
    });
  });

  it('prints token and expires with --json, narrowed by --scope', async () => {
    const id = (await tdb(['user', 'add', '--scope', 'read', '--scope', 'write'])).stdout;

    const result = await tdb(['token', 'issue', id, '--scope', 'read', '--json']);
    const body = JSON.parse(result.stdout) as { token: string; expires: number };

    expect(result.status).toBe(0);
    expect(Object.keys(body).sort()).toEqual(['expires', 'token']);
    expect(decodePayload(body.token)['scope']).toEqual(['read']);
    expect(body.expires).toBe(decodePayload(body.token)['exp']);
  });

  it('refuses a scope the user is not granted', async () => {
    const id = (await tdb(['user', 'add', '--scope', 'read'])).stdout;
    const result = await tdb(['token', 'issue', id, '--scope', 'admin']);

    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`tdb: user ${id} is not granted the scope admin`);
  });

  it('fails with 1 for a missing or locked user', async () => {
    const locked = (await tdb(['user', 'add', '--locked'])).stdout;

    expect(await tdb(['token', 'issue', 'no-such-user'])).toMatchObject({
      status: 1,
      stderr: 'tdb: user no-such-user not found',
    });
    expect(await tdb(['token', 'issue', locked])).toMatchObject({
      status: 1,
      stderr: 'tdb: cannot issue a token: User is locked',
    });
  });
});

describe('tdb key generate', () => {
  it('prints a 32-byte base64url secret by default', async () => {
    const result = await tdb(['key', 'generate']);

    expect(result.status).toBe(0);
    expect(Buffer.from(result.stdout, 'base64url')).toHaveLength(32);
  });

  it.each([
    ['ES256', 'ec'],
    ['EdDSA', 'ed25519'],
    ['RS256', 'rsa'],
  ])('prints a PKCS#8 PEM key for %s', async (alg, type) => {
    const result = await tdb(['key', 'generate', '--alg', alg]);

    expect(result.status).toBe(0);
    expect(createPrivateKey(result.stdout).asymmetricKeyType).toBe(type);
  });

  it('fails with 2 for an unknown algorithm', async () => {
    const result = await tdb(['key', 'generate', '--alg', 'HS512']);

    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      'tdb: invalid --alg "HS512": expected one of HS256, ES256, EdDSA, RS256 (run "tdb help" for usage)',
    );
  });
});

describe('tdb usage and configuration', () => {
  it.each([
    [[], 'tdb: missing command'],
    [['frobnicate'], 'tdb: unknown command "frobnicate"'],
    [['user', 'add', '--nope'], 'tdb: unknown option "--nope"'],
    [['user', 'add', '--email'], 'tdb: option "--email" needs a value'],
    [['user', 'lock'], 'tdb: expected 1 argument (a user id), got 0'],
    [
      ['user', 'add', '--email', 'not-an-address'],
      'tdb: invalid --email "not-an-address": expected an address like name@example.com',
    ],
  ])('fails with 2 for %j', async (args, message) => {
    const result = await tdb(args);

    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`${message} (run "tdb help" for usage)`);
  });

  it.each([[['help']], [['user', '--help']], [['token', 'issue', '-h']]])(
    'prints the usage for %j',
    async (args) => {
      const result = await tdb(args);

      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^Usage: tdb <command> \[options\]/);
      expect(result.stdout).toContain('(HS256 unless --alg says otherwise)');
    },
  );

  it('fails with 1 and names the variable for an invalid value', async () => {
    const result = await tdb(['user', 'list'], { TOKEN_LIFETIME: 'soon' });

    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'tdb: Invalid TOKEN_LIFETIME: "soon". Expected an integer from 1 to 31536000.',
    );
  });

  it('serve logs the signing key alg and kid, never the key', async () => {
    const child = spawn(process.execPath, [cliPath, 'serve'], {
      env: {
        PATH: process.env['PATH'] ?? '',
        DATA_DIR: dataDir,
        JWT_SIGNING_KEY: TEST_SECRET,
        PORT: '0',
      },
    });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Server listening')) resolve();
      });
      child.once('exit', () => reject(new Error(`serve exited early: ${output}`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;

    const loaded = output
      .split('\n')
      .filter((line) => line.includes('"msg":"signing key loaded"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(loaded).toHaveLength(1);
    expect(loaded[0]).toMatchObject({ alg: 'HS256', store: 'sqlite' });
    expect(typeof loaded[0]?.['kid']).toBe('string');
    expect(output).not.toContain(TEST_SECRET);
  });

  it('fails with 1 and a hint when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;

    const result = await tdb(['serve'], { PORT: String(port), LOG_LEVEL: 'silent' });
    blocker.close();

    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `tdb: cannot listen on 127.0.0.1:${port}: the address is already in use. Stop the other process or set PORT (or HOST) to a free address.`,
    );
  });

  it('prints the OpenAPI document', async () => {
    const result = await tdb(['openapi']);

    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ openapi: '3.1.0' });
  });

  it('generates a signing key file with mode 0600 when none is configured', async () => {
    const result = await tdb(['token', 'issue', (await tdb(['user', 'add'])).stdout], {
      JWT_SIGNING_KEY: '',
    });

    expect(result.status).toBe(0);
    expect(result.stderr).toContain('generated a random HS256 secret');
    expect(statSync(path.join(dataDir, 'signing-key')).mode & 0o777).toBe(0o600);
  });

  it('refuses to start without a key in production', async () => {
    const result = await tdb(['token', 'issue', 'x'], {
      JWT_SIGNING_KEY: '',
      NODE_ENV: 'production',
      DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tdb-prod-')),
    });

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^tdb: Missing JWT_SIGNING_KEY/);
  });
});

describe('tdb beside a running server', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ dataDir });
  });

  afterAll(async () => {
    await server.close();
  });

  it('locks a user the server then refuses with 403', async () => {
    const id = (await tdb(['user', 'add'])).stdout;
    const token = await server.issueToken(id);
    expect((await callRest(server, { bearer: token })).status).toBe(201);

    expect((await tdb(['user', 'lock', id])).status).toBe(0);

    const result = await callRest(server, { bearer: token });
    expect(result.status).toBe(403);
    expect(result.body['message']).toBe('User is locked');
  });

  it('issues a token the server refreshes', async () => {
    const id = (await tdb(['user', 'add'])).stdout;
    const issued = JSON.parse((await tdb(['token', 'issue', id, '--json'])).stdout) as {
      token: string;
    };
    server.clock.set(Math.floor(Date.now() / 1000));

    expect((await callRest(server, { bearer: issued.token })).status).toBe(201);
  });
});
