import { createRequire } from 'node:module';
import { expect, test } from 'vitest';
import * as fromPackage from '../../src/store/sql/kysely.js';

// The built CLI takes Kysely from dist/vendor/kysely.cjs (scripts/bundle-kysely.js); tests on src/
// take the package. Every value the store takes must be in the bundle, and be the same kind of thing.
test('dist/vendor/kysely.cjs holds every Kysely value src/store/sql/kysely.ts exports', () => {
  const bundle = createRequire(import.meta.url)('../../dist/vendor/kysely.cjs') as Record<string, unknown>;
  const names = Object.keys(fromPackage);
  expect(names.length).toBeGreaterThan(5);
  for (const name of names) expect(typeof bundle[name], name).toBe(typeof fromPackage[name as keyof typeof fromPackage]);
});
