// tsc emits no declaration file for a .d.ts source, so the generated REST types are copied
// beside dist/rest/index.d.ts, which imports them.
import { copyFileSync, mkdirSync } from 'node:fs';

const source = new URL('../src/rest/openapi.d.ts', import.meta.url);
const target = new URL('../dist/rest/openapi.d.ts', import.meta.url);
mkdirSync(new URL('.', target), { recursive: true });
copyFileSync(source, target);
