import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@tdb/source'] },
  ssr: { resolve: { conditions: ['@tdb/source'] } },
  test: {
    include: [
      'apps/*/src/**/*.test.ts',
      'apps/*/test/**/*.test.ts',
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
    ],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    typecheck: {
      enabled: true,
      include: ['packages/*/src/**/*.test-d.ts', 'apps/*/src/**/*.test-d.ts'],
      tsconfig: './tsconfig.json',
    },
  },
});
