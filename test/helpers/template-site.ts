import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildTemplateApp, type BuildTemplateAppOptions } from '../../src/template/app.js';
import type { TemplateConfig } from '../../src/template/config.js';
import { LogCapture } from './log-capture.js';
import { MASTER_KEY } from './keys.js';
import { POSTGRES_TEST_URL, dropSchema, freshSchemaName } from './postgres.js';
import { openSettingsStore } from '../../src/store/open-settings-store.js';
import type { SettingsStore } from '../../src/store/settings-store.js';

export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: Backend[] = ['sqlite', 'postgres'];

/** A database location for one test: a temp SQLite file or a fresh Postgres schema. */
export interface TestDatabase {
  backend: Backend;
  open(): Promise<SettingsStore>;
  cleanup(): Promise<void>;
}

export function testDatabase(backend: Backend): TestDatabase {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'keyfleet-site-'));
    return {
      backend,
      open: () => openSettingsStore(`sqlite:${join(dir, 'template.db')}`),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const schema = freshSchemaName();
  return {
    backend,
    open: () => openSettingsStore(POSTGRES_TEST_URL, { schema }),
    cleanup: () => dropSchema(schema),
  };
}

export interface TestSite {
  app: FastifyInstance;
  logs: LogCapture;
  db: TestDatabase;
  /** Restart on the same database (optionally with other config); the old app is closed. */
  restart(config?: Partial<TemplateConfig>): Promise<FastifyInstance>;
  close(): Promise<void>;
}

/** A template app on a fresh database with logs captured; `config` overrides the test defaults. */
export async function startTestSite(
  options: { backend?: Backend; config?: Partial<TemplateConfig>; db?: TestDatabase } & Omit<BuildTemplateAppOptions, 'config' | 'store'> = {},
): Promise<TestSite> {
  const db = options.db ?? testDatabase(options.backend ?? 'sqlite');
  const logs = new LogCapture();
  const base: Partial<TemplateConfig> = { masterKeys: [MASTER_KEY], env: {}, encryptionKey: undefined, metricsToken: undefined };
  let store = await db.open();
  const build = async (config?: Partial<TemplateConfig>) =>
    buildTemplateApp({ ...options, config: { ...base, ...options.config, ...config }, store, logStream: logs, logLevel: 'info' });
  let app = await build();
  return {
    get app() {
      return app;
    },
    logs,
    db,
    async restart(config) {
      await app.close();
      await store.close();
      store = await db.open();
      app = await build(config);
      return app;
    },
    async close() {
      await app.close();
      await store.close();
      if (!options.db) await db.cleanup();
    },
  } as TestSite;
}
