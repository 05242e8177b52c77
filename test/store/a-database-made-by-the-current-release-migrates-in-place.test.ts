/**
 * A database made by the current release opens in place under whatever the store becomes: the
 * fixtures in test/fixtures/legacy-db (SQLite files and Postgres dumps, at the latest schema version
 * and at an older one) are opened through openStateStore / openSettingsStore only — no migration
 * internals, no migrations table — and must still read back every row they were made with, take new
 * writes, and open a second time as a no-op.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/keys/secret-box.js';
import type { StateStore } from '../../src/store/state-store.js';
import {
  EXPECTED,
  restoreLegacy,
  type LegacyBackend,
  type LegacyDb,
  type LegacyName,
} from './legacy-db-fixture.js';
import { settingsWritesWork, stateWritesWork } from './legacy-db-writes.js';

const BACKENDS: readonly LegacyBackend[] = ['sqlite', 'postgres'];
type Run = { run: { id: string }; sites: Array<{ url: string; status: string }> };
type Secret = { setting: string; fingerprint: string; value: string };

/** Every run with its site rows, and every secret, read back as the fixture recorded them. */
async function runsAndSecretsSurvive(store: StateStore, runs: Run[], secrets: Secret[]): Promise<void> {
  for (const { run, sites } of runs) {
    expect(await store.getRun(run.id)).toMatchObject(run);
    expect(await store.siteResults(run.id)).toMatchObject(sites);
  }
  const ids = (await store.listRuns()).map((r) => r.id);
  expect(ids).toEqual(expect.arrayContaining(runs.map((r) => r.run.id)));
  for (const s of secrets) expect(await store.secretByFingerprint(s.setting, s.fingerprint)).toBe(s.value);
}

describe.each(BACKENDS)('a database made by the current release, on %s', (backend) => {
  const restored: LegacyDb[] = [];
  const restore = async (name: LegacyName) => {
    const db = await restoreLegacy(name, backend);
    restored.push(db);
    return db;
  };
  afterAll(async () => {
    await Promise.all(restored.map((db) => db.cleanup()));
  });

  it('state at the latest version: every row reads back, new writes work, a second open changes nothing', async () => {
    const exp = EXPECTED['state-latest'][backend];
    const db = await restore('state-latest');
    const store = await db.openState();
    await runsAndSecretsSurvive(store, exp.runs, exp.secrets);
    expect(await store.listKeyVersions()).toMatchObject(exp.key_versions);
    expect(await store.fleet.listSites()).toMatchObject(exp.sites);
    expect(await store.fleet.siteApiKey(exp.site_api_key.site_id)).toBe(exp.site_api_key.value);
    expect(await store.fleet.desired()).toEqual(exp.desired);
    expect(await store.fleet.listAudit()).toMatchObject(exp.audit);
    expect(Object.fromEntries(await store.fleet.heldKeysOf(Object.keys(exp.held_keys)))).toEqual(
      exp.held_keys,
    );
    expect(await store.fleet.safeToRoll()).toEqual(exp.safe_to_roll);
    expect(Object.fromEntries(await store.siteProtocols(Object.keys(exp.protocols)))).toEqual(exp.protocols);
    expect(await store.sessions.find(exp.session.id_hash)).toEqual(exp.session);

    // `push --resume` of the run the old release left interrupted.
    const interrupted = exp.runs[1] as Run;
    expect(interrupted.sites.map((s) => s.status)).toContain('pending');
    await store.reopenRun(interrupted.run.id);
    const pending = interrupted.sites.find((s) => s.status === 'pending')?.url as string;
    await store.recordSite(interrupted.run.id, {
      url: pending,
      status: 'ok',
      verified: true,
      attempts: 1,
      duration_ms: 7,
      error: null,
      before: null,
    });
    expect((await store.finishRun(interrupted.run.id, 'done')).summary).toMatchObject({ total: 2, ok: 2 });
    const newRun = await stateWritesWork(store, exp.sites[0].url);
    await store.close();

    const again = await db.openState();
    await runsAndSecretsSurvive(again, exp.runs.slice(0, 1), exp.secrets);
    expect((await again.getRun(newRun))?.state).toBe('done');
    expect(await again.fleet.listSites()).toHaveLength(exp.sites.length + 1);
  });

  it('state at an older version (5): old rows survive the upgrade, the later tables take writes', async () => {
    const exp = EXPECTED['state-v5'];
    const db = await restore('state-v5');
    const store = await db.openState();
    await runsAndSecretsSurvive(store, exp.runs, exp.secrets);
    for (const r of await store.siteResults(exp.runs[0].run.id)) expect(r.worker ?? null).toBeNull();
    expect(await store.listKeyVersions()).toMatchObject([exp.key_version]);
    // Sites that existed before site approval (migration 7) are approved.
    expect(await store.fleet.listSites()).toMatchObject([{ ...exp.site, approval: 'approved' }]);
    expect(await store.fleet.desired()).toEqual(exp.desired);
    expect(await store.fleet.listAudit()).toMatchObject(exp.audit);
    expect(await store.sessions.find(exp.session.id_hash)).toEqual(exp.session);
    expect(await store.siteProtocols([exp.site.url])).toEqual(new Map());

    const newRun = await stateWritesWork(store, exp.site.url); // protocols (6), approval (7), worker (8), held keys (9)
    await store.fleet.recordHeldKeys(
      exp.site.id,
      { stripe_secret_key: exp.secrets[1].fingerprint },
      new Date().toISOString(),
    );
    await store.close();

    const again = await db.openState();
    await runsAndSecretsSurvive(again, exp.runs, exp.secrets);
    expect((await again.getRun(newRun))?.state).toBe('done');
    expect((await again.fleet.heldKeysOf([exp.site.id])).get(exp.site.id)).toEqual({
      stripe_secret_key: exp.secrets[1].fingerprint,
    });
  });

  it('settings at the latest version: every value and audit row reads back, new writes work', async () => {
    const exp = EXPECTED['settings-latest'][backend];
    const db = await restore('settings-latest');
    const store = await db.openSettings();
    expect(await store.getAll()).toEqual(exp.rows);
    expect(await store.listAudit(100)).toMatchObject(exp.audit);
    expect(await store.generation()).toBe(exp.generation);
    const box = SecretBox.fromBase64(EXPECTED.template_encryption_key);
    expect(box.open((await store.get('stripe_secret_key'))?.value ?? '')).toBe(exp.opened.stripe_secret_key);
    await settingsWritesWork(store, EXPECTED.template_encryption_key);
    const after = await store.getAll();
    await store.close();

    const again = await db.openSettings();
    expect(await again.getAll()).toEqual(after);
    expect(await again.listAudit(100)).toHaveLength(exp.audit.length + 3);
  });

  it('settings at an older version (1): old rows survive, the generation counter exists and counts', async () => {
    const exp = EXPECTED['settings-v1'];
    const db = await restore('settings-v1');
    const store = await db.openSettings();
    expect(await store.getAll()).toEqual(exp.rows);
    expect(await store.listAudit(100)).toMatchObject(exp.audit);
    expect((await store.snapshot()).rows).toEqual(exp.rows);
    await settingsWritesWork(store, EXPECTED.template_encryption_key);
    const after = await store.getAll();
    await store.close();

    const again = await db.openSettings();
    expect(await again.getAll()).toEqual(after);
    expect(await again.listAudit(100)).toHaveLength(exp.audit.length + 3);
  });
});
