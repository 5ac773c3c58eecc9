import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestServer, type TestServer } from '../../../apps/server/test/support/test-server.js';
import { ensureBuilt, packageDir, runNode } from './support/built-package.js';
import { liveClock } from './support/live-clock.js';

/** Third-party runtime dependencies, linked from where the workspace installed them. */
const linkedDependencies = [
  ['@trpc/client', packageDir],
  ['@trpc/server', packageDir],
  ['openapi-fetch', packageDir],
  ['zod', path.join(packageDir, '../contracts')],
] as const;

let folder: string;

/** Packs a workspace package with pnpm, as it would be published, and unpacks it into node_modules. */
function installPacked(sourceDir: string, name: string): void {
  const packed = path.join(folder, 'packed');
  mkdirSync(packed, { recursive: true });
  const output = execFileSync('pnpm', ['pack', '--pack-destination', packed], {
    cwd: sourceDir,
    encoding: 'utf8',
  });
  const tarball = output.trim().split('\n').at(-1) ?? '';
  const target = path.join(folder, 'node_modules', name);
  mkdirSync(target, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', target, '--strip-components=1']);
}

beforeAll(() => {
  ensureBuilt();
  folder = mkdtempSync(path.join(tmpdir(), 'tdb-client-consumer-'));
  writeFileSync(path.join(folder, 'package.json'), '{ "private": true, "type": "module" }\n');
  installPacked(path.join(packageDir, '../contracts'), '@tdb/contracts');
  installPacked(packageDir, '@tdb/client');
  for (const [name, owner] of linkedDependencies) {
    const link = path.join(folder, 'node_modules', name);
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(realpathSync(path.join(owner, 'node_modules', name)), link, 'dir');
  }
}, 60_000);

afterAll(() => {
  if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
});

describe('the packed package', () => {
  let server: TestServer;

  afterAll(async () => {
    await server?.close();
  });

  it('runs from a Node script outside the workspace', async () => {
    server = await startTestServer({ clock: liveClock() });
    const user = await server.addUser();
    const token = await server.issueToken(user.id);
    writeFileSync(
      path.join(folder, 'refresh.mjs'),
      `import { createTdbClient, TokenRefreshError } from '@tdb/client';
import { createRestClient } from '@tdb/client/rest';

const client = createTdbClient({ baseUrl: process.env.TDB_URL, token: process.env.TDB_TOKEN });
const refreshed = await client.trpc.token.refresh.query();
const rest = createRestClient({ baseUrl: process.env.TDB_URL });
const { response } = await rest.GET('/v1/token', {
  headers: { authorization: \`Bearer \${refreshed.token}\` },
});
console.log(JSON.stringify({
  client: import.meta.resolve('@tdb/client'),
  rest: import.meta.resolve('@tdb/client/rest'),
  refreshed: refreshed.token !== process.env.TDB_TOKEN && refreshed.token === client.token,
  restStatus: response.status,
  errorName: new TokenRefreshError('x', { kind: 'network_error' }).name,
}));
`,
    );

    const run = await runNode(['refresh.mjs'], {
      cwd: folder,
      env: { TDB_URL: server.url, TDB_TOKEN: token },
      timeoutMs: 15_000,
    });

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.client).toBe(
      `file://${realpathSync(folder)}/node_modules/@tdb/client/dist/index.js`,
    );
    expect(result.rest).toBe(
      `file://${realpathSync(folder)}/node_modules/@tdb/client/dist/rest/index.js`,
    );
    expect(result.refreshed).toBe(true);
    expect(result.restStatus).toBe(201);
    expect(result.errorName).toBe('TokenRefreshError');
  });

  it('lets an idle process exit despite the timer', async () => {
    const now = Math.floor(Date.now() / 1000);
    const payload = Buffer.from(JSON.stringify({ iat: now, exp: now + 3600 })).toString(
      'base64url',
    );
    writeFileSync(
      path.join(folder, 'idle.mjs'),
      `import { createTdbClient } from '@tdb/client';

createTdbClient({
  baseUrl: 'http://127.0.0.1:9',
  token: 'eyJhbGciOiJIUzI1NiJ9.${payload}.c2ln',
  backgroundRefresh: true,
});
console.log('created');
`,
    );

    const started = Date.now();
    const run = await runNode(['idle.mjs'], { cwd: folder, timeoutMs: 10_000 });

    expect(run.signal).toBeNull();
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('created\n');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('ships the built files and README', () => {
    const shipped = readdirSync(path.join(folder, 'node_modules/@tdb/client')).sort();
    expect(shipped).toEqual(['README.md', 'dist', 'package.json']);
  });
});

describe('the built JavaScript', () => {
  it('imports no Node built-in module', () => {
    const nodeModules = new Set(builtinModules);
    const offenders: string[] = [];
    for (const file of readdirSync(path.join(packageDir, 'dist'), { recursive: true })) {
      const name = String(file);
      if (!name.endsWith('.js')) continue;
      const source = readFileSync(path.join(packageDir, 'dist', name), 'utf8');
      for (const [, specifier] of source.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        if (specifier?.startsWith('node:') || nodeModules.has(specifier ?? '')) {
          offenders.push(`${name} imports ${specifier}`);
        }
      }
      if (/\b(?:process\.|Buffer\.|require\()/.test(source))
        offenders.push(`${name} names a Node global`);
    }
    expect(offenders).toEqual([]);
  });
});
