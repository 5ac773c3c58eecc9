import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const cliPath = path.join(repositoryRoot, 'apps/server/dist/cli.js');
const benchDir = path.join(repositoryRoot, 'bench');

export type Environment = Record<string, string>;

/** Runs one `tdb` command from the built server and returns its standard output, trimmed. */
export async function runCli(args: string[], env: Environment): Promise<string> {
  try {
    const { stdout } = await execFileAsync(process.execPath, [cliPath, ...args], {
      env: { ...process.env, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout.trim();
  } catch (error) {
    // The error's message repeats the command line, which may carry a user id but no secret.
    const stderr = (error as { stderr?: string }).stderr?.trim() ?? '';
    throw new Error(`tdb ${args[0] ?? ''} ${args[1] ?? ''} failed: ${stderr || String(error)}`);
  }
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no TCP port'));
        else resolve(address.port);
      });
    });
  });
}

/** A server process started by the bench, listening on 127.0.0.1. */
export interface ServerProcess {
  name: string;
  url: string;
  pid: number;
  /** Resident set size of the process in bytes, read from /proc. */
  residentBytes(): number;
  /** CPU time the process has used so far, user and system, all threads, in seconds. */
  cpuSeconds(): number;
  /** CPU time of the main thread alone, which runs the event loop, in seconds. */
  mainThreadCpuSeconds(): number;
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  /** Arguments for node: a script and its arguments, with any node flags first. */
  args: string[];
  env: Environment;
  port: number;
  /** A path that responds with 2xx once the server is ready. */
  readyPath: string;
}

/** Starts a node process and waits for its ready path to respond, or kills it after 30 s. */
export async function startServerProcess(options: StartOptions): Promise<ServerProcess> {
  const child = spawn(process.execPath, options.args, {
    cwd: benchDir,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr.push(chunk.toString('utf8'));
    process.stderr.write(chunk);
  });

  const url = `http://127.0.0.1:${options.port}`;
  try {
    await waitUntilReady(child, `${url}${options.readyPath}`, options.name);
  } catch (error) {
    await stopChild(child);
    throw new Error(`${(error as Error).message}\n${stderr.join('')}`.trim());
  }

  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name} has no process id`);
  return {
    name: options.name,
    url,
    pid,
    residentBytes: () => residentBytes(pid),
    cpuSeconds: () => cpuSeconds(`/proc/${pid}/stat`),
    mainThreadCpuSeconds: () => cpuSeconds(`/proc/${pid}/task/${pid}/stat`),
    stop: () => stopChild(child),
  };
}

async function waitUntilReady(child: ChildProcess, url: string, name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with status ${child.exitCode}`);
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // Not listening yet: try again below.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} did not respond at ${url} within 30 s`);
}

/** Sends SIGTERM, then SIGKILL after 5 s, and resolves when the process has exited. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS line in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/**
 * Reads utime and stime from a /proc stat file, of a process or of one of its threads.
 * Linux counts them in clock ticks, 100 a second on common kernels (`getconf CLK_TCK`).
 */
function cpuSeconds(statFile: string): number {
  const stat = readFileSync(statFile, 'utf8');
  // The command name in brackets may hold spaces, so fields are counted after its closing bracket.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  return (userTicks + systemTicks) / 100;
}
