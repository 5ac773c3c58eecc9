import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** Self time by area: a package name, `node` for Node's own modules, `tdb` for our code. */
  areas: Array<{ name: string; ms: number }>;
  /** Self time by function, highest first. */
  functions: Array<{ name: string; ms: number }>;
}

/**
 * Reads a `.cpuprofile` written by `node --cpu-prof` and adds up self time by area and by
 * function. Idle time is left out of every figure, so shares are of the busy time.
 */
export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let totalMicroseconds = 0;

  for (let index = 0; index < profile.samples.length; index += 1) {
    const node = nodes.get(profile.samples[index] ?? -1);
    // The delta before sample i+1 is the time sample i stood for.
    const microseconds = profile.timeDeltas[index + 1] ?? 0;
    if (node === undefined || node.callFrame.functionName === '(idle)') continue;

    totalMicroseconds += microseconds;
    add(byArea, areaOf(node.callFrame.url, node.callFrame.functionName), microseconds);
    add(byFunction, functionLabel(node), microseconds);
  }

  return {
    totalMs: totalMicroseconds / 1000,
    areas: ranked(byArea, 12),
    functions: ranked(byFunction, top),
  };
}

/** Formats a summary as two Markdown tables with each row's share of the busy time. */
export function formatProfileSummary(title: string, summary: ProfileSummary): string {
  const share = (ms: number) => `${((100 * ms) / summary.totalMs).toFixed(1)} %`;
  const lines = [
    `${title}: ${summary.totalMs.toFixed(0)} ms busy`,
    '',
    '| area | self time | share |',
    '| --- | ---: | ---: |',
    ...summary.areas.map((row) => `| ${row.name} | ${row.ms.toFixed(0)} ms | ${share(row.ms)} |`),
    '',
    '| function | self time | share |',
    '| --- | ---: | ---: |',
    ...summary.functions.map(
      (row) => `| ${row.name} | ${row.ms.toFixed(0)} ms | ${share(row.ms)} |`,
    ),
  ];
  return lines.join('\n');
}

function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node';

  const packagePath = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules)/.exec(url);
  if (packagePath?.[1] !== undefined) return packagePath[1];
  if (url.includes('/apps/server/') || url.includes('/packages/contracts/')) return 'tdb';
  if (url.includes('/bench/')) return 'bench';
  return url;
}

function functionLabel(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName === '' ? '(anonymous)' : functionName;
  if (url === '') return name;
  const file = url
    .replace(/^.*node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?/, '')
    .replace(/^file:\/\/.*\/(apps|packages|bench)\//, '$1/');
  return `${name} ${file}:${lineNumber + 1}`;
}

function add(totals: Map<string, number>, key: string, microseconds: number): void {
  totals.set(key, (totals.get(key) ?? 0) + microseconds);
}

function ranked(totals: Map<string, number>, limit: number): Array<{ name: string; ms: number }> {
  return [...totals.entries()]
    .map(([name, microseconds]) => ({ name, ms: microseconds / 1000 }))
    .sort((left, right) => right.ms - left.ms)
    .slice(0, limit);
}
