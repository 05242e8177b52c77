import { it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { sql } from 'kysely';
import { openSqlite } from '../../src/store/sql/sqlite-db.js';
import { openPostgres } from '../../src/store/sql/postgres-db.js';
import { migrate } from '../../src/store/sql/migrate.js';
import { STATE_MIGRATION_SET } from '../../src/store/state-migrations.js';
import { POSTGRES_TEST_URL, freshSchemaName } from '../helpers/postgres.js';

it('dumps schema', async () => {
  const out: Record<string, unknown> = {};
  const path = `/tmp/schema-dump-${process.pid}.db`;
  const s = openSqlite<any>(path, { foreignKeys: true });
  await migrate(s as never, STATE_MIGRATION_SET);
  const tables = (await sql<{ name: string }>`select name from sqlite_master where type='table' and name not like '%migration%' order by name`.execute(s.k)).rows;
  for (const t of tables) {
    out[`sqlite:${t.name}`] = {
      cols: (await sql.raw(`pragma table_xinfo(${t.name})`).execute(s.k)).rows,
      idx: (await sql.raw(`pragma index_list(${t.name})`).execute(s.k)).rows,
      fks: (await sql.raw(`pragma foreign_key_list(${t.name})`).execute(s.k)).rows,
      wr: (await sql<{ sql: string }>`select sql from sqlite_master where name = ${t.name}`.execute(s.k)).rows[0]?.sql.includes('WITHOUT ROWID'),
    };
  }
  out['sqlite:indexes'] = (await sql`select name, tbl_name from sqlite_master where type='index' order by name`.execute(s.k)).rows;
  await s.close();
  const schema = freshSchemaName('kf_dump');
  const { db } = openPostgres<any>(POSTGRES_TEST_URL, schema, { appName: 'x' });
  await migrate(db as never, STATE_MIGRATION_SET);
  out['pg:cols'] = (await sql`select table_name, column_name, data_type, is_nullable, column_default, is_identity, identity_generation from information_schema.columns where table_schema = ${schema} and table_name not like '%migration%' order by table_name, ordinal_position`.execute(db.k)).rows;
  out['pg:idx'] = (await sql`select tablename, indexname, replace(indexdef, ${schema}, 'S') as d from pg_indexes where schemaname = ${schema} and tablename not like '%migration%' order by indexname`.execute(db.k)).rows;
  out['pg:cons'] = (await sql`select conname, contype, pg_get_constraintdef(c.oid) as d from pg_constraint c join pg_namespace n on n.oid = c.connamespace where nspname = ${schema} order by conname`.execute(db.k)).rows;
  await sql.raw(`drop schema "${schema}" cascade`).execute(db.k);
  await db.close();
  writeFileSync(process.env.DUMP_OUT ?? '/work/scratch/schema.json', JSON.stringify(out, null, 1));
});
