import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageDir = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Builds the package into dist/ when dist/ is missing, as `pnpm build` does. The build reads
 * the server's and the contracts' declarations from their dist/, so those must exist.
 */
export function ensureBuilt(): void {
  if (
    existsSync(path.join(packageDir, 'dist/index.js')) &&
    existsSync(path.join(packageDir, 'dist/rest/openapi.d.ts'))
  ) {
    return;
  }
  for (const dependency of ['../../apps/server/dist/index.d.ts', '../contracts/dist/index.d.ts']) {
    if (!existsSync(path.join(packageDir, dependency))) {
      throw new Error(`cannot build @tdb/client: ${dependency} is missing; run "pnpm build" first`);
    }
  }
  const tsc = path.join(packageDir, 'node_modules/typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: packageDir,
    stdio: 'pipe',
  });
  execFileSync(process.execPath, ['scripts/copy-rest-types.mjs'], {
    cwd: packageDir,
    stdio: 'pipe',
  });
}

export interface NodeRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a Node script in a child process without blocking this one, which may be serving the
 * script's requests. The child is killed if it runs longer than `timeoutMs`.
 */
export function runNode(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs: number },
): Promise<NodeRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: options.cwd,
      env: { PATH: process.env['PATH'] ?? '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
