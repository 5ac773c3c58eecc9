import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { makeDirectory } from './make-directory.js';

let root: string;

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'tdb-mkdir-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('makeDirectory', () => {
  it('creates missing parents', () => {
    const directory = path.join(root, 'a', 'b', 'c');
    makeDirectory(directory);

    expect(statSync(directory).isDirectory()).toBe(true);
  });

  it('accepts an existing directory', () => {
    makeDirectory(root);
    makeDirectory(path.join(root, 'x'));
    makeDirectory(path.join(root, 'x'));

    expect(statSync(path.join(root, 'x')).isDirectory()).toBe(true);
  });

  it('rejects a file in the path', () => {
    writeFileSync(path.join(root, 'file'), '');

    expect(() => makeDirectory(path.join(root, 'file', 'sub'))).toThrow(/EEXIST/);
  });

  // Node 20's recursive mkdirSync loops forever on this path, so without the fix the test times out.
  it.runIf(existsSync('/proc/self'))('throws under /proc instead of hanging', () => {
    expect(() => makeDirectory('/proc/tdb-no-such-directory/data')).toThrow(/ENOENT/);
  });
});
