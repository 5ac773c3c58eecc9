import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { TEST_SECRET } from './test-server.js';

/** The built command line; the tests that use it need `pnpm build` first. */
export const cliPath = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** Throws with the fix when the server has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(cliPath)) {
    throw new Error(`${cliPath} is missing: run "pnpm build" before the server process tests`);
  }
}

/**
 * Builds the environment of every child from only what the server reads, so a developer's
 * own DATABASE_URL or JWT_SIGNING_KEY never leaks into a test.
 */
function childEnv(env: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '',
    HOST: '127.0.0.1',
    PORT: '0',
    JWT_SIGNING_KEY: TEST_SECRET,
    LOG_LEVEL: 'info',
    ...env,
  };
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `tdb ARGS` with the built CLI and the given variables. */
export function runTdb(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliPath, ...args],
      { env: childEnv(env), timeout: 20_000 },
      (error, stdout, stderr) => {
        let status = 0;
        if (error !== null) status = typeof error.code === 'number' ? error.code : 1;
        resolve({ status, stdout: stdout.trim(), stderr: stderr.trim() });
      },
    );
  });
}

export interface ServerProcess extends AsyncDisposable {
  /** Base URL on 127.0.0.1, without a trailing slash. */
  url: string;
  child: ChildProcess;
  /** Every log line printed so far, parsed from pino's JSON. */
  logs: Record<string, unknown>[];
  /** Resolves with the exit code, or with the signal's name when a signal ended the process. */
  exited: Promise<number | string>;
  /** Resolves with the first log line matching `message`, waiting at most `timeoutMs`. */
  waitForLog(message: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Kills the process if it still runs and deletes its data folder. */
  stop(): Promise<void>;
}

/**
 * Starts `tdb serve` as a real process on an ephemeral port of 127.0.0.1 and resolves once
 * it logs its address. DATA_DIR is a new temporary folder unless `env` sets it.
 */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  requireBuiltCli();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tdb-process-'));
  const child = spawn(process.execPath, [cliPath, 'serve'], {
    env: childEnv({ DATA_DIR: dataDir, ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let pending = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
    for (const wake of waiters) wake();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });

  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      for (const wake of waiters) wake();
      resolve(code ?? signal ?? 'unknown');
    });
  });
  let exitedWith: number | string | undefined;
  void exited.then((status) => {
    exitedWith = status;
  });

  const waitForLog = (message: string, timeoutMs = 10_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = logs.find((line) => String(line['msg']).startsWith(message));
        if (found !== undefined) {
          finish();
          resolve(found);
        } else if (exitedWith !== undefined || child.exitCode !== null) {
          finish();
          reject(new Error(`server exited (${exitedWith}) before logging "${message}": ${stderr}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`server did not log "${message}" within ${timeoutMs} ms: ${stderr}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  let listening: Record<string, unknown>;
  try {
    listening = await waitForLog('Server listening at http://127.0.0.1:');
  } catch (error) {
    await stop();
    throw error;
  }
  const url = String(listening['msg']).replace('Server listening at ', '');

  return { url, child, logs, exited, waitForLog, stop, [Symbol.asyncDispose]: stop };
}
