// Prepares a fresh clone with nothing but Node 20 and npm: installs the pinned pnpm when it is
// missing, then the workspace's dependencies, then builds every package.
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const { packageManager } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
);
const expectedVersion = packageManager.replace(/^pnpm@/, '');

function run(command) {
  execSync(command, { stdio: 'inherit' });
}

function installedPnpm() {
  try {
    return execSync('pnpm --version', {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

const found = installedPnpm();
if (found !== expectedVersion) {
  console.error(`setup: installing pnpm ${expectedVersion} (found ${found ?? 'none'})`);
  run(`npm install --global pnpm@${expectedVersion}`);
}

run('pnpm install --frozen-lockfile');
run('pnpm run build');
