import { createRequire } from 'node:module';
import type * as K from 'kysely';

/**
 * Kysely's values, loaded from its CommonJS build. Its ES build is some 400 modules that Node opens
 * in parallel: under a low open-files limit (a push proves its bound under `ulimit -n 128`) that
 * fails with EMFILE, and it starts a third slower. Types still come from 'kysely' (`import type`).
 */
const kysely = createRequire(import.meta.url)('kysely') as typeof K;

export const {
  CompiledQuery,
  Kysely,
  Migrator,
  PostgresDialect,
  PostgresIntrospector,
  SqliteDialect,
  SqliteDriver,
  expressionBuilder,
  sql,
} = kysely;
export type CompiledQuery<R = unknown> = K.CompiledQuery<R>;
export type Kysely<T> = K.Kysely<T>;
