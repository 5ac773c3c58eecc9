import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, expect, it } from 'vitest';

import { startTestServer, type TestServer } from '../../../apps/server/test/support/test-server.js';
import { ensureBuilt, packageDir, runNode } from './support/built-package.js';
import { liveClock } from './support/live-clock.js';
import { refreshRequests } from './support/server-requests.js';

const LIFETIME_SECONDS = 4;
const RUN_SECONDS = 9;

let server: TestServer | undefined;
let folder: string | undefined;

afterEach(async () => {
  await server?.close();
  if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
});

it('README example keeps working past the token lifetime', { timeout: 30_000 }, async () => {
  ensureBuilt();
  // No leeway: a refresh with a token even a second past its expiry would be a 401.
  server = await startTestServer({
    clock: liveClock(),
    env: { TOKEN_LIFETIME: String(LIFETIME_SECONDS), JWT_LEEWAY: '0' },
  });
  const user = await server.addUser();
  const firstToken = await server.issueToken(user.id);
  folder = mkdtempSync(path.join(tmpdir(), 'tdb-example-'));
  const tokenFile = path.join(folder, 'token.txt');
  writeFileSync(tokenFile, firstToken);

  const run = await runNode(['examples/keep-token-fresh.mjs'], {
    cwd: packageDir,
    env: {
      TDB_URL: server.url,
      TDB_TOKEN_FILE: tokenFile,
      TDB_INTERVAL_SECONDS: '0.5',
      TDB_RUN_SECONDS: String(RUN_SECONDS),
    },
    timeoutMs: 25_000,
  });

  expect(run.code).toBe(0);
  expect(run.stderr).not.toContain('failed');
  const refreshedLines = run.stderr.split('\n').filter((line) => line.includes('token refreshed'));
  // The margin is half the 4 s lifetime, so a refresh comes about every 2 s.
  expect(refreshedLines.length).toBeGreaterThanOrEqual(3);
  const refreshes = refreshRequests(server);
  expect(refreshes).toHaveLength(refreshedLines.length);
  for (const refresh of refreshes) expect(refresh.status).toBe(200);

  const storedToken = readFileSync(tokenFile, 'utf8');
  expect(storedToken).not.toBe(firstToken);
  const response = await fetch(`${server.url}/v1/token`, {
    headers: { authorization: `Bearer ${storedToken}` },
  });
  expect(response.status).toBe(201);
});
