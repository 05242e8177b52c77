import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as K from 'kysely';

/**
 * Kysely's values. Built, keyfleet loads them from dist/vendor/kysely.cjs, one file bundled by
 * scripts/bundle-kysely.js: ~1.5 MB and ~17 ms against ~13 MB and ~90 ms for Kysely's ~260 CommonJS
 * modules, and its ES build (~400 modules opened at once) fails with EMFILE under the push's
 * `ulimit -n 128`. From src/ (tests) it loads the package. Types come from 'kysely' (`import type`).
 */
const bundle = fileURLToPath(new URL('../../vendor/kysely.cjs', import.meta.url));
const kysely = createRequire(import.meta.url)(existsSync(bundle) ? bundle : 'kysely') as typeof K;

export const { CompiledQuery, Kysely, Migrator, PostgresDialect, PostgresIntrospector, SqliteDialect, SqliteDriver, expressionBuilder, sql } = kysely;
export type CompiledQuery<R = unknown> = K.CompiledQuery<R>;
export type Kysely<T> = K.Kysely<T>;
