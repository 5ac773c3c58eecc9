import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const documentPath = path.resolve(packageDir, '../../apps/server/openapi.json');
const committedTypes = path.join(packageDir, 'src/rest/openapi.d.ts');

it('REST types match the committed OpenAPI document', () => {
  const cli = path.join(packageDir, 'node_modules/openapi-typescript/bin/cli.js');
  const folder = mkdtempSync(path.join(tmpdir(), 'tdb-rest-types-'));
  try {
    const generated = path.join(folder, 'openapi.d.ts');
    execFileSync(process.execPath, [cli, documentPath, '--output', generated], { stdio: 'pipe' });

    expect(
      readFileSync(committedTypes, 'utf8'),
      'src/rest/openapi.d.ts is stale: run "pnpm --filter @tdb/client generate:rest" and commit it',
    ).toBe(readFileSync(generated, 'utf8'));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
