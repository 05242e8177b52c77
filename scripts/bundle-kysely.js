// Bundles the parts of Kysely that keyfleet uses into one file, dist/vendor/kysely.cjs, after tsc.
// Loaded as its ~260 CommonJS modules, Kysely costs a process ~13 MB of memory and ~90 ms; as this
// one file, ~1.5 MB and ~17 ms (the push benchmark's peak RSS, bench/README.md, issue 13).
// src/store/sql/kysely.ts loads this file when it is there (dist/), and the package otherwise (src/);
// test/store/kysely-bundle-has-every-value-the-store-uses.test.ts keeps the two lists equal.
import { buildSync } from 'esbuild';

const VALUES = ['CompiledQuery', 'Kysely', 'Migrator', 'PostgresDialect', 'PostgresIntrospector', 'SqliteDialect', 'SqliteDriver', 'expressionBuilder', 'sql'];

buildSync({
  stdin: { contents: `export { ${VALUES.join(', ')} } from 'kysely';`, resolveDir: process.cwd() },
  outfile: 'dist/vendor/kysely.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  conditions: ['import'],
  logLevel: 'warning',
});
