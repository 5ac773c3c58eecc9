import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Creates a directory and any missing parents, one level at a time. Node 20's
 * `mkdirSync(dir, { recursive: true })` never returns for a path under /proc, where mkdir
 * fails with ENOENT although the parent exists. Here that error, or any other, is thrown.
 */
export function makeDirectory(directory: string): void {
  const missing: string[] = [];
  let current = path.resolve(directory);
  while (!isDirectory(current)) {
    missing.push(current);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }

  for (const level of missing.reverse()) {
    try {
      mkdirSync(level);
    } catch (error) {
      // Another process may have created it meanwhile. A file of that name is still an error.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && isDirectory(level)) continue;
      throw error;
    }
  }
}

function isDirectory(candidate: string): boolean {
  try {
    return statSync(candidate).isDirectory();
  } catch {
    return false;
  }
}
