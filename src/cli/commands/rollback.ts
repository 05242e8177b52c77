import { readFileSync } from 'node:fs';
import { parseBackup, publicDesired, secretFingerprints, type BackupSite } from '../../engine/backup-file.js';
import { parseFailureBudget } from '../../engine/failure-budget.js';
import { runPush } from '../../engine/push-run.js';
import type { SiteTask } from '../../engine/push-site.js';
import type { DesiredKeys } from '../../engine/site-state.js';
import { SETTINGS, type SettingName } from '../../protocol/settings.js';
import { openStateStore } from '../../store/open-state-store.js';
import type { StateStore } from '../../store/state-store.js';
import { usageError } from '../../protocol/cli-error.js';
import { confirmWrite } from '../confirm.js';
import { actor, apiKeyFor, clientFor, loadSites, parseCount, protocolFor, workersFor, type FleetOptions } from '../fleet-options.js';
import { finishRun } from '../finish-run.js';
import { interruptible } from '../interrupt.js';
import { createReporter } from '../output/create-reporter.js';
import type { Reporter } from '../output/reporter.js';

export interface RollbackOptions extends FleetOptions {
  from?: string;
  run?: string;
  dryRun?: boolean;
  yes?: boolean;
  force?: boolean;
}

/**
 * `keyfleet rollback`: put back what sites had, from a backup file or from the `before` snapshots of a
 * recorded run, through the same pipeline as a push (preflight, canary, verify). Public values are
 * restored from the backup itself; a secret only when keyfleet pushed it before (its vault has a copy).
 */
export async function rollback(opts: RollbackOptions): Promise<number> {
  if (!opts.from === !opts.run) throw usageError('give exactly one of --from <backup.json> or --run <run-id>.');
  const reporter = createReporter({ json: opts.json === true, verbose: opts.verbose === true });
  const state = await openStateStore({ log: (m: string) => reporter.warn(m) });
  try {
    const wanted = opts.from ? fromBackup(opts.from) : await fromRun(state, opts.run ?? '');
    const createdAt = opts.from ? backupCreatedAt(opts.from) : undefined;
    const shared = process.env.TEMPLATE_MASTER_API_KEY || null;
    const inventory = opts.sitesFile ? new Map((await loadSites(opts, reporter)).map((s) => [s.url, s])) : null;
    const tasks: SiteTask[] = [];
    for (const [url, site] of wanted) {
      if (inventory && !inventory.has(url)) continue;
      const desired = await restorable(state, url, site, reporter);
      const unrestorable = await restoreSeedSecret(state, url, site, desired, createdAt);
      if (Object.keys(desired).length === 0 && unrestorable.length === 0) continue;
      const known = inventory?.get(url);
      tasks.push({ url, apiKey: known ? apiKeyFor(known, shared) : shared, desired, protocol: known ? protocolFor(known, opts) : (opts.protocol as SiteTask['protocol']) ?? (site.protocol === 'seed' ? 'seed' : 'auto'), ...(unrestorable.length ? { unrestorable } : {}) });
    }
    if (tasks.length === 0) throw usageError('nothing to restore: no site in the backup has a value keyfleet can put back.');
    if (tasks.some((t) => !t.apiKey)) throw usageError('no API key for some sites: nothing was sent.', 'Set TEMPLATE_MASTER_API_KEY.');
    if (!opts.dryRun) await confirmWrite(`About to roll back ${tasks.length} sites.`, opts);

    const run = await state.createRun({ command: 'rollback', dry_run: opts.dryRun === true, actor: actor(), sites_source: opts.from ?? `run ${opts.run}`, keys: {}, options: { from: opts.from ?? null, run: opts.run ?? null }, key_version_id: null, sites: tasks.map((t) => t.url) });
    const client = clientFor(opts, reporter);
    const stop = interruptible((m) => reporter.note(m));
    try {
      const result = await runPush({
        runId: run.id, tasks, client, state, dryRun: opts.dryRun === true, canary: 1,
        failureBudget: parseFailureBudget('10%', tasks.length),
        workers: workersFor(parseCount(opts.concurrency, '--concurrency', 16)),
        signal: stop.signal,
        events: { phase: (p, n) => reporter.phase(p, n), site: (o) => reporter.site(o), preflighted: () => reporter.tick() },
      });
      return await finishRun(state, reporter, run.id, result);
    } finally {
      stop.dispose();
      await client.close();
    }
  } finally {
    await state.close();
  }
}

function backupCreatedAt(path: string): string | undefined {
  try {
    return parseBackup(readFileSync(path, 'utf8')).created_at || undefined;
  } catch {
    return undefined;
  }
}

function fromBackup(path: string): Map<string, BackupSite> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw usageError(`cannot read ${path}.`);
  }
  try {
    return new Map(Object.entries(parseBackup(text).sites));
  } catch (err) {
    throw usageError(`${path}: ${(err as Error).message}`);
  }
}

async function fromRun(state: StateStore, id: string): Promise<Map<string, BackupSite & { before?: string }>> {
  const run = await state.getRun(id);
  if (!run) throw usageError(`no run ${id}.`, 'See keyfleet history for run ids.');
  const out = new Map<string, BackupSite & { before?: string }>();
  for (const r of await state.siteResults(id)) {
    if (!r.before) continue; // never reached: nothing was recorded, nothing was changed
    const secrets: BackupSite['secrets'] = {};
    for (const [name, fp] of Object.entries(r.before.fingerprints)) {
      if (fp && SETTINGS[name as keyof typeof SETTINGS]?.secret) secrets[name] = { fingerprint: fp, last4: '', mode: null };
    }
    const seed = r.before.protocol === 'seed';
    out.set(r.url, {
      publishable_key: r.before.publishable_key,
      price_id: r.before.price_id,
      secrets,
      ...(seed ? { protocol: 'seed' as const, unknown: (r.before.unknown ?? []).filter((n) => r.changes?.includes(n)), before: run.started_at } : {}),
    });
  }
  return out;
}

/**
 * Issue 9: a seed site never revealed its secret, so the snapshot cannot restore it. The secret it
 * held then is the one keyfleet last pushed to it before that moment (its vault has a copy); without
 * one, the site's result is `seed_secret_not_restorable` (its public values are still restored). A
 * secret keyfleet has not written to the site since then is left alone.
 */
async function restoreSeedSecret(state: StateStore, url: string, site: BackupSite & { before?: string }, desired: DesiredKeys, createdAt: string | undefined): Promise<SettingName[]> {
  if (site.protocol !== 'seed') return [];
  const at = site.before ?? createdAt;
  const history = await secretWrites(state, url);
  const missing: SettingName[] = [];
  for (const name of site.unknown ?? []) {
    if (name !== 'stripe_secret_key' && name !== 'stripe_webhook_secret') continue;
    const writes = history.filter((w) => w.name === name);
    // --from: only what keyfleet changed since the backup; --run: `unknown` already lists what the run wrote.
    if (site.before === undefined && !writes.some((w) => at === undefined || w.at >= at)) continue;
    const previous = writes.find((w) => at !== undefined && w.at < at);
    const value = previous ? await state.secretByFingerprint(name, previous.fingerprint) : undefined;
    if (value) desired[name] = value;
    else missing.push(name);
  }
  return missing;
}

/** Secrets keyfleet wrote to this site, newest first (a push or rollback that ended `ok` on it). */
async function secretWrites(state: StateStore, url: string): Promise<Array<{ name: SettingName; fingerprint: string; at: string }>> {
  const out: Array<{ name: SettingName; fingerprint: string; at: string }> = [];
  for (const run of await state.listRuns({ limit: 500 })) {
    if (run.command !== 'push' || run.dry_run) continue;
    const [r] = await state.siteResults(run.id, { urls: [url], before: false });
    if (r?.status !== 'ok') continue;
    for (const name of r.changes ?? []) {
      const fp = run.keys[name]?.fingerprint;
      if (fp && SETTINGS[name].secret) out.push({ name, fingerprint: fp, at: run.started_at });
    }
  }
  return out;
}

/** Public values as recorded; each secret only if the vault holds the value with that fingerprint. */
async function restorable(state: StateStore, url: string, site: BackupSite, reporter: Reporter): Promise<DesiredKeys> {
  const desired = publicDesired(site);
  for (const s of secretFingerprints(site)) {
    const value = await state.secretByFingerprint(s.name, s.fingerprint);
    if (value) desired[s.name] = value;
    else reporter.warn(`${url}: ${SETTINGS[s.name].short} ${s.fingerprint} cannot be restored (keyfleet never pushed it); restoring the rest.`);
  }
  return desired;
}
