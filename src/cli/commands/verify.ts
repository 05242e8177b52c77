import type { SiteTask } from '../../engine/push-site.js';
import { verifySite } from '../../engine/verify-site.js';
import type { DesiredKeys } from '../../engine/site-state.js';
import { runPool } from '../../engine/worker-pool.js';
import { loadKeys } from '../../keys/key-source.js';
import { isValidKey } from '../../protocol/key-formats.js';
import { SETTINGS, SETTING_NAMES } from '../../protocol/settings.js';
import { openStateStore } from '../../store/open-state-store.js';
import { usageError } from '../../protocol/cli-error.js';
import { actor, apiKeyFor, clientFor, loadSites, maskedKeys, parseCount, protocolFor, workersFor, type FleetOptions } from '../fleet-options.js';
import { finishRun } from '../finish-run.js';
import { interruptible } from '../interrupt.js';
import { createReporter } from '../output/create-reporter.js';

export interface VerifyOptions extends FleetOptions {
  expectPk?: string;
  envFile?: string;
  secretKeyFile?: string;
  secretKey?: string;
  publishableKey?: string;
  /** `--wait <seconds>`: seed sites are read again until every worker agrees, up to this long. */
  wait?: string;
}

/** `keyfleet verify`: every site against the expected keys; exit 1 on any drift or failure. */
export async function verify(opts: VerifyOptions): Promise<number> {
  const reporter = createReporter({ json: opts.json === true, verbose: opts.verbose === true });
  const loaded = await loadKeys({ envFile: opts.envFile, secretKeyFile: opts.secretKeyFile, secretKey: opts.secretKey, publishableKey: opts.expectPk ?? opts.publishableKey, warn: (m) => reporter.warn(m) });
  const expected: DesiredKeys = {};
  for (const name of SETTING_NAMES) {
    const value = loaded.keys[name];
    if (value === undefined) continue;
    if (!isValidKey(SETTINGS[name].kind, value)) throw usageError(`the expected ${SETTINGS[name].short} is not a valid key (${SETTINGS[name].formatError}).`, 'Run keyfleet validate to see what is wrong with it.');
    expected[name] = value;
  }
  if (Object.keys(expected).length === 0) throw usageError('nothing to verify against.', 'Pass --expect-pk pk_…, or set STRIPE_PUBLISHABLE_KEY / STRIPE_SECRET_KEY.');
  const sites = await loadSites(opts, reporter);
  const waitMs = opts.wait === undefined ? 0 : parseWaitMs(opts.wait);
  const tasks = sites.map((s) => ({ url: s.url, apiKey: apiKeyFor(s, loaded.apiKey, loaded.apiKeyFor), desired: expected, protocol: protocolFor(s, opts) }) as SiteTask);
  if (expected.stripe_secret_key && tasks.some((t) => !t.apiKey)) {
    reporter.warn('secret keys can only be verified with an API key (TEMPLATE_MASTER_API_KEY); sites without one are checked for their publishable key only.');
  }

  const state = await openStateStore({ log: (m) => reporter.warn(m) });
  const client = clientFor(opts, reporter);
  const stop = interruptible((m) => reporter.note(m));
  try {
    const run = await state.createRun({ command: 'verify', dry_run: false, actor: actor(), sites_source: opts.sitesFile ?? null, keys: maskedKeys(expected), options: { tag: opts.tag ?? null }, key_version_id: null, sites: tasks.map((t) => t.url) });
    const remembered = await state.siteProtocols(tasks.map((t) => t.url));
    for (const t of tasks) {
      const hint = remembered.get(t.url);
      if (hint) t.protocolHint = hint;
    }
    const detected: Array<{ url: string; protocol: 'keyfleet' | 'seed' }> = [];
    reporter.phase('verify', tasks.length);
    const workers = workersFor(parseCount(opts.concurrency, '--concurrency', 16));
    await runPool(tasks, workers, async (task) => {
      const outcome = await verifySite(client, task, { waitMs });
      await state.recordSite(run.id, outcome);
      if (outcome.protocol) detected.push({ url: outcome.url, protocol: outcome.protocol });
      reporter.site(outcome);
    }, () => stop.signal.aborted);
    await state.rememberProtocols(detected);
    return await finishRun(state, reporter, run.id, { state: stop.signal.aborted ? 'cancelled' : 'done' });
  } finally {
    stop.dispose();
    await client.close();
    await state.close();
  }
}

function parseWaitMs(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 3600) throw usageError(`--wait is in seconds, 0 to 3600 (got "${value}").`, 'Seed sites cache settings for up to 300 s: --wait 300.');
  return Math.round(n * 1000);
}
