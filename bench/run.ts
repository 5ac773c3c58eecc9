/**
 * `pnpm bench`: measures the token refresh of the built server against a bare `node:http`
 * baseline that does the same work with the same libraries, for HS256 and ES256 keys. Then it
 * measures REST with 1 user against a large store, and resident memory across a long run of
 * refreshes. Everything listens on 127.0.0.1 and is stopped and deleted at the end.
 *
 *   pnpm bench            the recorded run, about 10 minutes on 2 cores
 *   pnpm bench --quick    a short trial of every step, about 1 minute
 *   pnpm bench --profile  CPU profiles of the server and the baseline under load, no table
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { driveCount, type LoadResult, type LoadShape, type LoadTarget, measure } from './load.js';
import {
  cliPath,
  type Environment,
  freePort,
  runCli,
  type ServerProcess,
  startServerProcess,
} from './processes.js';
import { formatProfileSummary, summarizeProfile } from './profile-summary.js';
import {
  type MemoryResult,
  memoryTable,
  type RatioResult,
  roundRatios,
  type ScaleResult,
  scaleTable,
  type TransportName,
  type TransportRow,
  transportTable,
} from './report.js';
import { seedUsers } from './seed-users.js';

interface Settings {
  shape: LoadShape;
  /** Rounds of every comparison. Each row reports its median round. */
  rounds: number;
  largeStoreUsers: number;
  /** Users of the large store that get a token. The load cycles through them. */
  largeStoreTokens: number;
  refreshes: number;
  memoryBoundBytes: number;
}

const connections = 32;

const fullSettings: Settings = {
  shape: { connections, warmUpSeconds: 3, durationSeconds: 6 },
  rounds: 5,
  largeStoreUsers: 1_000_000,
  largeStoreTokens: 32,
  refreshes: 1_000_000,
  // 32 MiB over 1,000,000 refreshes would be about 34 bytes kept per refresh: a leak shows.
  memoryBoundBytes: 32 * 1024 * 1024,
};

const quickSettings: Settings = {
  shape: { connections, warmUpSeconds: 1, durationSeconds: 3 },
  rounds: 1,
  largeStoreUsers: 100_000,
  largeStoreTokens: 8,
  refreshes: 20_000,
  memoryBoundBytes: 32 * 1024 * 1024,
};

const algorithms = ['HS256', 'ES256'] as const;
type Algorithm = (typeof algorithms)[number];

/** A data folder with a signing key, users, and tokens issued by the CLI. */
interface Fixture {
  alg: Algorithm;
  env: Environment;
  tokens: string[];
  users: number;
}

const { values: flags } = parseArgs({
  options: { quick: { type: 'boolean' }, profile: { type: 'boolean' } },
  strict: true,
});
const settings = flags.quick ? quickSettings : fullSettings;

if (!existsSync(cliPath)) {
  console.error(`bench: ${cliPath} is missing. Run "pnpm build" first.`);
  process.exit(1);
}

const started = Date.now();
const workDir = mkdtempSync(path.join(os.tmpdir(), 'tdb-bench-'));
try {
  print(machineDescription());
  if (flags.profile) {
    await profile(workDir, settings.shape);
  } else {
    await benchmark(workDir, settings);
  }
  print(`\nTotal time: ${((Date.now() - started) / 1000).toFixed(0)} s.`);
} finally {
  rmSync(workDir, { recursive: true, force: true });
}

async function benchmark(root: string, options: Settings): Promise<void> {
  const shape = options.shape;
  const warmUpDescription =
    options.rounds === 1
      ? `a ${shape.warmUpSeconds} s warm-up`
      : `a warm-up (${shape.warmUpSeconds} s in the first round, 1 s after)`;
  print(
    `Load: autocannon, ${shape.connections} connections; ${options.rounds} round(s) of every row, each ${shape.durationSeconds} s measured after ${warmUpDescription}; rows show the median round.\n`,
  );

  const rows: TransportRow[] = [];
  const fixtures = new Map<Algorithm, Fixture>();
  for (const alg of algorithms) {
    const fixture = await prepareFixture(path.join(root, alg), alg);
    fixtures.set(alg, fixture);
    rows.push(...(await compareTransports(fixture, options)));
  }
  print(`\n${transportTable(rows)}\n\n${roundRatios(rows)}\n`);

  const small = fixtures.get('HS256');
  if (small === undefined) throw new Error('the HS256 fixture is missing');
  const large = await prepareLargeFixture(path.join(root, 'large'), small, options);
  const { scale, memory } = await measureStoreScale(small, large, options);
  print(`\n${scaleTable(scale)}\n`);
  print(`\n${memoryTable(memory)}`);
}

/** Creates a signing key, one user and a token for it, all through the `tdb` CLI. */
async function prepareFixture(
  dataDir: string,
  alg: Algorithm,
  signingKey?: string,
): Promise<Fixture> {
  mkdirSync(dataDir, { recursive: true });
  const key = signingKey ?? (await runCli(['key', 'generate', '--alg', alg], {}));
  const env: Environment = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    JWT_SIGNING_KEY: key,
    // A day, so every token issued for the load stays valid through the whole run.
    TOKEN_LIFETIME: '86400',
  };
  const userId = await runCli(['user', 'add', '--scope', 'read', '--scope', 'write'], env);
  const token = await runCli(['token', 'issue', userId], env);
  return { alg, env, tokens: [token], users: 1 };
}

/** Adds users straight into SQLite until the store is large, then issues tokens with the CLI. */
async function prepareLargeFixture(
  dataDir: string,
  small: Fixture,
  options: Settings,
): Promise<Fixture> {
  const base = await prepareFixture(dataDir, small.alg, small.env['JWT_SIGNING_KEY']);
  const insertStart = Date.now();
  const sample = seedUsers(
    path.join(dataDir, 'tdb.sqlite'),
    options.largeStoreUsers - 1,
    options.largeStoreTokens,
  );
  print(
    `Inserted ${(options.largeStoreUsers - 1).toLocaleString('en-US')} users in ${((Date.now() - insertStart) / 1000).toFixed(1)} s.`,
  );

  const tokens: string[] = [];
  // Two CLI processes at a time: one per core.
  for (let index = 0; index < sample.length; index += 2) {
    const batch = sample
      .slice(index, index + 2)
      .map((id) => runCli(['token', 'issue', id], base.env));
    tokens.push(...(await Promise.all(batch)));
  }
  return { ...base, tokens, users: options.largeStoreUsers };
}

/** A server under measurement and the URL its load goes to. */
interface Contender<Name> {
  name: Name;
  server: ServerProcess;
  target: LoadTarget;
}

/** Every round of one contender, and the round with the median requests per second. */
interface RoundResults {
  rounds: LoadResult[];
  median: LoadResult;
}

/**
 * Measures every contender in turn, round after round, so a burst of other work on the
 * machine hits all of them alike. The first round of each warms up for the full warm-up,
 * later rounds for 1 s.
 */
async function measureInRounds<Name extends string>(
  contenders: readonly Contender<Name>[],
  shape: LoadShape,
  rounds: number,
  label: string,
): Promise<Map<Name, RoundResults>> {
  const results = new Map<Name, LoadResult[]>();
  for (let round = 0; round < rounds; round += 1) {
    for (const contender of contenders) {
      const warmUpSeconds = round === 0 ? shape.warmUpSeconds : Math.min(1, shape.warmUpSeconds);
      const result = await measure(contender.target, { ...shape, warmUpSeconds }, contender.server);
      results.set(contender.name, [...(results.get(contender.name) ?? []), result]);
      print(
        `${label} ${contender.name}, round ${round + 1}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, server CPU ${cpu(result)} µs per request`,
      );
    }
  }

  const summaries = new Map<Name, RoundResults>();
  for (const [name, runs] of results) {
    const median = medianBy(runs, (run) => run.requestsPerSecond);
    if (median !== undefined) summaries.set(name, { rounds: runs, median });
  }
  return summaries;
}

/**
 * Compares a contender with a reference round by round: each round's ratio uses the two runs
 * made one after the other, so a slow spell of the machine affects both sides of it. Returns
 * the median of the round ratios and all of them.
 */
function pairedRatio(
  contender: RoundResults,
  reference: RoundResults,
  figure: (result: LoadResult) => number,
): RatioResult {
  const rounds = contender.rounds.map((run, index) => {
    const other = reference.rounds[index];
    return other === undefined ? Number.NaN : figure(run) / figure(other);
  });
  return { median: medianBy(rounds, (value) => value) ?? Number.NaN, rounds };
}

function medianBy<T>(values: readonly T[], key: (value: T) => number): T | undefined {
  const sorted = [...values].sort((left, right) => key(left) - key(right));
  return sorted[Math.floor(sorted.length / 2)];
}

/** Measures REST, tRPC, the baseline and the trpc-to-openapi adapter on one data folder. */
async function compareTransports(fixture: Fixture, options: Settings): Promise<TransportRow[]> {
  const starts: Array<{ name: TransportName; start: () => Promise<ServerProcess>; path: string }> =
    [
      { name: 'rest', start: () => startProduct(fixture), path: '/v1/token' },
      { name: 'trpc', start: () => startProduct(fixture), path: '/trpc/token.refresh' },
      {
        name: 'baseline',
        start: () => startScript('baseline', 'baseline.ts', fixture),
        path: '/v1/token',
      },
      {
        name: 'openapiAdapter',
        start: () => startScript('trpc-to-openapi adapter', 'openapi-adapter.ts', fixture),
        path: '/v1/token',
      },
    ];

  const contenders: Array<Contender<TransportName>> = [];
  try {
    for (const entry of starts) {
      const server = await entry.start();
      contenders.push({
        name: entry.name,
        server,
        target: { url: `${server.url}${entry.path}`, tokens: fixture.tokens },
      });
    }
    const results = await measureInRounds(contenders, options.shape, options.rounds, fixture.alg);
    const baseline = results.get('baseline');
    if (baseline === undefined) throw new Error(`${fixture.alg}: the baseline produced no result`);
    return contenders.flatMap((contender) => {
      const result = results.get(contender.name);
      if (result === undefined) return [];
      return [
        {
          alg: fixture.alg,
          transport: contender.name,
          result: result.median,
          throughput: pairedRatio(result, baseline, (run) => run.requestsPerSecond),
          p99: pairedRatio(result, baseline, (run) => run.p99Ms),
        },
      ];
    });
  } finally {
    for (const contender of contenders) await contender.server.stop();
  }
}

/** Measures REST on the 1-user and the large store, then memory across the long refresh run. */
async function measureStoreScale(
  small: Fixture,
  large: Fixture,
  options: Settings,
): Promise<{ scale: ScaleResult; memory: MemoryResult }> {
  const smallServer = await startProduct(small);
  try {
    const largeServer = await startProduct(large);
    try {
      const results = await measureInRounds(
        [
          { name: 'small', server: smallServer, target: restTarget(smallServer, small) },
          { name: 'large', server: largeServer, target: restTarget(largeServer, large) },
        ],
        options.shape,
        options.rounds,
        'REST store',
      );
      const smallResult = results.get('small');
      const largeResult = results.get('large');
      if (smallResult === undefined || largeResult === undefined) {
        throw new Error('the store comparison produced no result');
      }
      await smallServer.stop();

      const memory = await measureMemory(largeServer, large, options);
      return {
        scale: {
          smallStoreUsers: small.users,
          largeStoreUsers: large.users,
          small: smallResult.median,
          large: largeResult.median,
          throughput: pairedRatio(largeResult, smallResult, (run) => run.requestsPerSecond),
        },
        memory,
      };
    } finally {
      await largeServer.stop();
    }
  } finally {
    await smallServer.stop();
  }
}

/** Reads resident memory before and after `options.refreshes` refreshes, sampling the peak. */
async function measureMemory(
  server: ServerProcess,
  fixture: Fixture,
  options: Settings,
): Promise<MemoryResult> {
  const beforeBytes = server.residentBytes();
  let peakBytes = beforeBytes;
  const sampler = setInterval(() => {
    peakBytes = Math.max(peakBytes, server.residentBytes());
  }, 500);

  let run: LoadResult;
  try {
    print(
      `Sending ${options.refreshes.toLocaleString('en-US')} refreshes for the memory figure...`,
    );
    run = await driveCount(
      restTarget(server, fixture),
      options.shape.connections,
      options.refreshes,
    );
  } finally {
    clearInterval(sampler);
  }
  const afterBytes = server.residentBytes();

  return {
    refreshes: run.requests,
    requestsPerSecond: run.requestsPerSecond,
    beforeBytes,
    afterBytes,
    peakBytes: Math.max(peakBytes, afterBytes),
    boundBytes: options.memoryBoundBytes,
  };
}

/** Runs each server under REST or tRPC load with `--cpu-prof` and prints where the time goes. */
async function profile(root: string, shape: LoadShape): Promise<void> {
  for (const alg of algorithms) {
    const fixture = await prepareFixture(path.join(root, alg), alg);
    const runs: Array<{ title: string; script: string | undefined; path: string }> = [
      { title: `${alg} REST /v1/token`, script: undefined, path: '/v1/token' },
      { title: `${alg} tRPC token.refresh`, script: undefined, path: '/trpc/token.refresh' },
      { title: `${alg} baseline`, script: 'baseline.ts', path: '/v1/token' },
    ];

    for (const [index, run] of runs.entries()) {
      const profileDir = path.join(root, `profile-${alg}-${index}`);
      const profileFlags = ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
      const args =
        run.script === undefined
          ? [...profileFlags, cliPath, 'serve']
          : [...profileFlags, '--import', 'tsx', run.script];
      const server = await startWithPort(run.title, args, fixture.env);
      try {
        const result = await measure(
          { url: `${server.url}${run.path}`, tokens: fixture.tokens },
          shape,
          server,
        );
        print(
          `\n${run.title}: ${Math.round(result.requestsPerSecond)} req/s, server CPU ${cpu(result)} µs per request, while profiled`,
        );
      } finally {
        await server.stop();
      }

      const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
      if (file === undefined)
        throw new Error(`${run.title}: node wrote no profile into ${profileDir}`);
      print(`\n${formatProfileSummary(run.title, summarizeProfile(path.join(profileDir, file)))}`);
    }
  }
}

function startProduct(fixture: Fixture): Promise<ServerProcess> {
  return startWithPort(`tdb serve (${fixture.alg})`, [cliPath, 'serve'], fixture.env);
}

function startScript(name: string, script: string, fixture: Fixture): Promise<ServerProcess> {
  return startWithPort(`${name} (${fixture.alg})`, ['--import', 'tsx', script], fixture.env);
}

async function startWithPort(
  name: string,
  args: string[],
  env: Environment,
): Promise<ServerProcess> {
  const port = await freePort();
  return startServerProcess({
    name,
    args,
    env: { ...env, PORT: String(port) },
    port,
    readyPath: '/healthz',
  });
}

function restTarget(server: ServerProcess, fixture: Fixture): LoadTarget {
  return { url: `${server.url}/v1/token`, tokens: fixture.tokens };
}

function cpu(result: LoadResult): string {
  const all = result.cpuMicrosecondsPerRequest?.toFixed(0) ?? '?';
  const main = result.mainThreadMicrosecondsPerRequest?.toFixed(0) ?? '?';
  return `${all} (main thread ${main})`;
}

function machineDescription(): string {
  const model =
    /^model name\s*:\s*(.+)$/m.exec(readCpuInfo())?.[1] ?? os.cpus()[0]?.model ?? 'unknown CPU';
  return `Machine: ${os.cpus().length} cores, ${model}, Node ${process.version}, ${os.platform()} ${os.release()}.`;
}

function readCpuInfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}
