import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import pg from 'pg';

/**
 * Postgres for tests. Every test isolates itself in a fresh schema (`freshSchemaName()`) on the shared
 * database and drops it afterwards (`dropSchema()`), so suites run in parallel without cross-talk.
 *
 * @example const schema = freshSchemaName();
 *          const store = await openSettingsStore(POSTGRES_TEST_URL, { schema });
 *          try { … } finally { await store.close(); await dropSchema(schema); }
 */
export const POSTGRES_TEST_URL = process.env.POSTGRES_TEST_URL || 'postgres://postgres@127.0.0.1:5432/test';

let counter = 0;

/** Unique per call, across processes too (pid + random); lower case, so it needs no quoting in psql. */
export function freshSchemaName(prefix = 'kf_test'): string {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}_${randomBytes(4).toString('hex')}`;
}

/** Runs `fn` on a short-lived connection with `search_path` set to `schema` when given. */
export async function withPgClient<T>(fn: (client: pg.Client) => Promise<T>, schema?: string): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_TEST_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    if (schema) await client.query(`SET search_path TO "${schema.replaceAll('"', '""')}"`);
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** One query on the test database, rows returned; tables resolve in `schema` when given. */
export async function pgQuery<R extends pg.QueryResultRow = Record<string, unknown>>(
  sql: string,
  params: unknown[] = [],
  schema?: string,
): Promise<R[]> {
  return withPgClient(async (client) => (await client.query<R>(sql, params)).rows, schema);
}

export async function dropSchema(name: string): Promise<void> {
  await pgQuery(`DROP SCHEMA IF EXISTS "${name.replaceAll('"', '""')}" CASCADE`);
}

/** Terminates the sessions a store opened (found by application_name), as a server restart would. */
export async function terminateBackends(applicationName: string): Promise<number> {
  const rows = await pgQuery<{ ok: boolean }>(
    'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
    [applicationName],
  );
  return rows.filter((r) => r.ok).length;
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released), for "server unreachable" cases. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The test URL pointed at a closed port on 127.0.0.1, with a password to check masking. */
export async function unreachablePostgresUrl(password = 'hunter2-not-a-real-password'): Promise<string> {
  const url = new URL(POSTGRES_TEST_URL);
  url.hostname = '127.0.0.1';
  url.port = String(await closedPort());
  url.password = password;
  return url.toString();
}
