import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/**
 * `patches/@trpc__server@11.25.2.patch` replaces the object-spread helper of @trpc/server's
 * build with one built on Object.assign, because the original cost about 11 µs per procedure
 * call (docs/benchmarks.md). These tests check that the installed package carries the patch
 * and that the helper still gives what the spread syntax in tRPC's source gives.
 */
type SpreadHelper = (target: object, ...sources: unknown[]) => object;

async function loadHelper(file: string): Promise<SpreadHelper> {
  const exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const helper = Object.values(exports).find(
    (value) => typeof value === 'function' && value.name === '_objectSpread2',
  );
  if (helper === undefined) throw new Error(`${file} exports no _objectSpread2`);
  return helper as SpreadHelper;
}

const distDir = path.dirname(createRequire(import.meta.url).resolve('@trpc/server'));
const helperFiles = readdirSync(distDir)
  .filter((name) => /^getErrorShape-.+\.(mjs|cjs)$/.test(name))
  .map((name) => path.join(distDir, name));

/** Own keys with their descriptors, in order, and the prototype: all an object spread decides. */
function shape(value: object) {
  return {
    prototype: Object.getPrototypeOf(value) as unknown,
    keys: Reflect.ownKeys(value),
    descriptors: Reflect.ownKeys(value).map((key) => Reflect.getOwnPropertyDescriptor(value, key)),
  };
}

const symbolA = Symbol('a');
const keyArbitrary = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'toString', 'ctx', 'input', '0', '1', symbolA),
  fc.string({ maxLength: 6 }),
);
/** Plain objects as JSON.parse builds them: "__proto__" becomes an own property. */
const sourceArbitrary = fc
  .array(fc.tuple(keyArbitrary, fc.oneof(fc.integer(), fc.string(), fc.constant(undefined))), {
    maxLength: 8,
  })
  .map((entries) => {
    const source: Record<PropertyKey, unknown> = {};
    for (const [key, value] of entries) {
      Object.defineProperty(source, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return source;
  });

describe('the patched object-spread helper of @trpc/server', () => {
  it('is found in both builds', () => {
    expect(helperFiles.map((file) => path.extname(file)).sort()).toEqual(['.cjs', '.mjs']);
  });

  it.each(helperFiles)('is patched in %s', async (file) => {
    const helper = await loadHelper(file);
    expect(helper.toString()).toContain('Object.assign(e, t)');
  });

  it.each(helperFiles)('matches spread syntax (%s)', async (file) => {
    const helper = await loadHelper(file);
    fc.assert(
      fc.property(sourceArbitrary, sourceArbitrary, sourceArbitrary, (first, second, literal) => {
        // `{ ...first, ...second }` and `{ ...first, ...literal }`, as the build calls it.
        expect(shape(helper(helper({}, first), second))).toEqual(shape({ ...first, ...second }));
        expect(shape(helper(helper({}, first), {}, literal))).toEqual(
          shape({ ...first, ...literal }),
        );
      }),
    );
  });

  it.each(helperFiles)('keeps an own "__proto__" as a property (%s)', async (file) => {
    const helper = await loadHelper(file);
    const source = JSON.parse('{"__proto__": {"polluted": true}, "token": "t"}') as object;
    const copy = helper({}, source) as Record<string, unknown>;

    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.hasOwn(copy, '__proto__')).toBe(true);
    expect(copy['polluted']).toBeUndefined();
    expect(copy['token']).toBe('t');
  });

  it.each(helperFiles)('skips nullish sources, reads getters once (%s)', async (file) => {
    const helper = await loadHelper(file);
    let reads = 0;
    const withGetter = {
      get value() {
        reads += 1;
        return reads;
      },
    };
    const copy = helper({}, null, undefined, withGetter, false);

    expect(reads).toBe(1);
    expect(Object.getOwnPropertyDescriptor(copy, 'value')).toEqual({
      value: 1,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  });
});
