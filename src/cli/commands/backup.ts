import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { failedOutcome, Tally } from '../../engine/push-site.js';
import { readSiteView } from '../../engine/site-protocol.js';
import type { BackupFile } from '../../engine/backup-file.js';
import { runPool } from '../../engine/worker-pool.js';
import { SETTINGS, SETTING_NAMES } from '../../protocol/settings.js';
import { openStateStore } from '../../store/open-state-store.js';
import { usageError } from '../../protocol/cli-error.js';
import { actor, apiKeyFor, clientFor, loadSites, parseCount, protocolFor, workersFor, type FleetOptions } from '../fleet-options.js';
import { finishRun } from '../finish-run.js';
import { interruptible } from '../interrupt.js';
import { createReporter } from '../output/create-reporter.js';

export interface BackupOptions extends FleetOptions {
  output?: string;
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);

/** `keyfleet backup`: what every site holds now (pk, price, secret fingerprints + last4) into one file. */
export async function backup(opts: BackupOptions): Promise<number> {
  const reporter = createReporter({ json: opts.json === true, verbose: opts.verbose === true });
  const output = opts.output ?? `keys_backup_${stamp(new Date())}.json`;
  if (existsSync(output)) throw usageError(`${output} already exists; a backup is never overwritten.`, 'Choose another file with -o.');
  const shared = process.env.TEMPLATE_MASTER_API_KEY || null;
  const sites = await loadSites(opts, reporter);
  const file: BackupFile = { keyfleet_backup: 1, created_at: new Date().toISOString(), sites: {} };
  const state = await openStateStore({ log: (m) => reporter.warn(m) });
  const client = clientFor(opts, reporter);
  const stop = interruptible((m) => reporter.note(m));
  try {
    const run = await state.createRun({ command: 'backup', dry_run: false, actor: actor(), sites_source: opts.sitesFile ?? null, keys: {}, options: { output }, key_version_id: null, sites: sites.map((s) => s.url) });
    const remembered = await state.siteProtocols(sites.map((s) => s.url));
    const detected: Array<{ url: string; protocol: 'keyfleet' | 'seed' }> = [];
    reporter.phase('backup', sites.length);
    await runPool(sites, workersFor(parseCount(opts.concurrency, '--concurrency', 16)), async (site) => {
      const hint = remembered.get(site.url);
      const task = { url: site.url, apiKey: apiKeyFor(site, shared), desired: {}, protocol: protocolFor(site, opts), ...(hint ? { protocolHint: hint } : {}) };
      const tally = new Tally();
      let outcome;
      try {
        if (task.apiKey) {
          const { snapshot: before, health } = await readSiteView(client, task, tally, { close: true, full: true });
          const keys = health?.keys;
          const secrets: BackupFile['sites'][string]['secrets'] = {};
          // A seed site never reveals a secret: the backup lists it in `unknown`, not as "none".
          if (keys) for (const n of SETTING_NAMES) if (SETTINGS[n].secret) secrets[n] = keys[n] ? { fingerprint: keys[n].fingerprint, last4: keys[n].last4, mode: keys[n].mode } : null;
          file.sites[site.url] = { publishable_key: before.publishable_key, price_id: before.price_id, secrets, ...(before.protocol === 'seed' ? { protocol: 'seed' as const, unknown: before.unknown } : {}) };
          outcome = { url: site.url, status: 'ok' as const, verified: true, attempts: tally.attempts, duration_ms: tally.ms, error: null, before, changes: [], protocol: before.protocol ?? ('keyfleet' as const) };
        } else {
          const pk = tally.add(await client.getPublishableKey(site.url, { close: true }));
          file.sites[site.url] = { publishable_key: pk, price_id: null, secrets: {} };
          outcome = { url: site.url, status: 'ok' as const, verified: true, attempts: tally.attempts, duration_ms: tally.ms, error: null, before: null, changes: [] };
        }
      } catch (err) {
        outcome = failedOutcome(site.url, err, tally, null);
      }
      await state.recordSite(run.id, outcome);
      if (outcome.protocol) detected.push({ url: outcome.url, protocol: outcome.protocol });
      reporter.site(outcome);
    }, () => stop.signal.aborted);
    await state.rememberProtocols(detected);
    // Written atomically, readable by the operator only: it maps every site of the fleet.
    writeFileSync(`${output}.tmp`, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${output}.tmp`, output);
    const lines = [`backup written to ${output} (${Object.keys(file.sites).length} sites)`];
    return await finishRun(state, reporter, run.id, { state: stop.signal.aborted ? 'cancelled' : 'done', lines });
  } finally {
    stop.dispose();
    await client.close();
    await state.close();
  }
}
