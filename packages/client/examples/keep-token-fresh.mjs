// A long-running job that calls the API every few seconds without handling token expiry
// itself. The client refreshes the token ahead of time and stores each new one in a file, so a
// restarted job resumes with the latest token.
//
//   TDB_URL               base URL of the service (default http://127.0.0.1:8080)
//   TDB_TOKEN_FILE        file that contains the token, rewritten at each refresh (default token.txt)
//   TDB_JOB_PATH          the endpoint the job calls (default /healthz)
//   TDB_INTERVAL_SECONDS  pause between two calls (default 5)
//   TDB_RUN_SECONDS       stop after this long; 0 runs until interrupted (default 0)
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { createTdbClient } from '@tdb/client';

const tokenFile = process.env.TDB_TOKEN_FILE ?? 'token.txt';
const jobPath = process.env.TDB_JOB_PATH ?? '/healthz';
const intervalMs = Number(process.env.TDB_INTERVAL_SECONDS ?? 5) * 1000;
const runSeconds = Number(process.env.TDB_RUN_SECONDS ?? 0);
const stopAt = runSeconds > 0 ? Date.now() + runSeconds * 1000 : Number.POSITIVE_INFINITY;

/** Writes one timestamped log line to standard error. */
const log = (line) => console.error(`${new Date().toISOString()} ${line}`);

const client = createTdbClient({
  baseUrl: process.env.TDB_URL ?? 'http://127.0.0.1:8080',
  token: readFileSync(tokenFile, 'utf8').trim(),
  backgroundRefresh: true,
  onToken: ({ token, expires }) => {
    writeFileSync(tokenFile, token, { mode: 0o600 });
    log(`token refreshed; it expires at ${new Date(expires * 1000).toISOString()}`);
  },
  onRefreshError: (error) => log(`token refresh failed (${error.kind}): ${error.message}`),
});

while (Date.now() < stopAt) {
  try {
    const response = await client.fetch(jobPath);
    log(`GET ${jobPath}: ${response.status}`);
  } catch (error) {
    // A locked user or a revoked token stops the job: no request can succeed any more.
    log(`GET ${jobPath} failed: ${error.message}`);
    if (client.session.failure !== undefined) process.exit(1);
  }
  await sleep(intervalMs);
}
client.close();
