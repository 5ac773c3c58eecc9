import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@tdb/source'] },
  ssr: { resolve: { conditions: ['@tdb/source'] } },
});
