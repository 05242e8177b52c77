import type { Site } from '../../engine/inventory.js';
import type { SiteTask } from '../../engine/push-site.js';
import type { ProtocolName } from '../../engine/protocol-choice.js';
import { keysFromVault, KeyNotInVaultError } from '../../engine/run-keys.js';
import type { DesiredKeys } from '../../engine/site-state.js';
import { describeSettings } from '../../engine/site-state.js';
import { loadKeys, type LoadedKeys } from '../../keys/key-source.js';
import { validateKeys } from '../../keys/validate-keys.js';
import { maskKey } from '../../protocol/fingerprint.js';
import { SETTINGS, SETTING_NAMES, type SettingName } from '../../protocol/settings.js';
import type { RunRecord, StateStore } from '../../store/state-store.js';
import { usageError } from '../../protocol/cli-error.js';
import { apiKeyFor, loadSites, protocolFor } from '../fleet-options.js';
import type { Reporter } from '../output/reporter.js';
import type { PushOptions } from './push-options.js';

/** What a push will do: the keys, one task per site, and (for --resume) the run it continues. */
export interface PushPlan {
  keys: DesiredKeys;
  tasks: SiteTask[];
  summary: string;
  resumeOf?: RunRecord;
}

function onlyList(only: string | undefined): Array<'pk' | 'sk' | 'webhook' | 'price'> | undefined {
  return only?.split(',').map((s) => s.trim()) as Array<'pk' | 'sk' | 'webhook' | 'price'> | undefined;
}

function summaryOf(keys: DesiredKeys): string {
  return SETTING_NAMES.filter((n) => keys[n])
    .map((n) => `${SETTINGS[n].short} ${maskKey(keys[n] ?? '')}`)
    .join(', ');
}

function tasksFor(sites: Site[], keys: DesiredKeys, sharedKey: string | null, opts: PushOptions, remembered: ReadonlyMap<string, ProtocolName>, lookup?: LoadedKeys['apiKeyFor']): SiteTask[] {
  const missing = sites.filter((s) => !apiKeyFor(s, sharedKey, lookup));
  if (missing.length > 0) {
    const env = missing[0]?.apiKeyEnv;
    throw usageError(
      `no API key for ${missing.length} site(s), e.g. ${missing[0]?.url}: nothing was sent.`,
      env ? `Set ${env} (the site's api_key_env in the inventory).` : 'Set TEMPLATE_MASTER_API_KEY.',
    );
  }
  const readBack = opts.readBack === true;
  return sites.map((s) => {
    const hint = remembered.get(s.url);
    return { url: s.url, apiKey: apiKeyFor(s, sharedKey, lookup), desired: keys, protocol: protocolFor(s, opts), ...(hint ? { protocolHint: hint } : {}), ...(readBack ? { readBack } : {}) };
  });
}

/** A new push: keys validated locally (nothing is sent on a problem), then the fleet. */
export async function planPush(opts: PushOptions, state: StateStore, reporter: Reporter): Promise<PushPlan> {
  const loaded = await loadKeys({ envFile: opts.envFile, secretKeyFile: opts.secretKeyFile, secretKey: opts.secretKey, publishableKey: opts.publishableKey, warn: (m) => reporter.warn(m) });
  const only = onlyList(opts.only);
  const verdict = validateKeys(loaded.keys, { only });
  for (const w of verdict.warnings) reporter.warn(`${w.message} (${w.hint})`);
  if (!verdict.ok) {
    const first = verdict.problems[0];
    throw usageError(verdict.problems.map((p) => p.message).join('\n  '), first?.hint);
  }
  const wanted = new Set(only ?? ['pk', 'sk', 'webhook', 'price']);
  const keys: DesiredKeys = {};
  for (const name of SETTING_NAMES) if (loaded.keys[name] && wanted.has(SETTINGS[name].short)) keys[name] = loaded.keys[name];
  if (Object.keys(keys).length === 0) throw usageError('no keys to push.', 'Set STRIPE_SECRET_KEY and/or STRIPE_PUBLISHABLE_KEY (or --only what you have).');

  // The guide's first cause of invalid_api_key: whitespace pasted into the key.
  if (loaded.apiKey !== null && /\s/.test(loaded.apiKey)) {
    throw usageError('TEMPLATE_MASTER_API_KEY contains whitespace: nothing was sent.', `Trim it: export TEMPLATE_MASTER_API_KEY="$(echo $TEMPLATE_MASTER_API_KEY | tr -d '[:space:]')"`);
  }
  let sites = await loadSites(opts, reporter);
  if (opts.retryFailed) {
    const run = await state.getRun(opts.retryFailed);
    if (!run) throw usageError(`no run ${opts.retryFailed}.`, 'See keyfleet history for run ids.');
    const failed = new Set((await state.siteResults(run.id, { status: ['failed'] })).map((r) => r.url));
    sites = sites.filter((s) => failed.has(s.url));
    if (sites.length === 0) throw usageError(`run ${run.id} has no failed site in ${opts.sitesFile}.`);
  }
  if (keys.stripe_secret_key?.startsWith('rk_')) {
    reporter.warn('a restricted key (rk_…) is refused by seed sites (the original template): they are reported restricted_key_unsupported and nothing is sent to them.');
  }
  if (verdict.live) reporter.warn(`LIVE keys: ${summaryOf(keys)} — real customers' payments will use them.`);
  if (opts.checkStripe && keys.stripe_secret_key) await checkStripe(keys.stripe_secret_key, verdict.mode, reporter);
  return { keys, tasks: tasksFor(sites, keys, loaded.apiKey, opts, await state.siteProtocols(sites.map((s) => s.url)), loaded.apiKeyFor), summary: summaryOf(keys) };
}

async function checkStripe(secret: string, mode: 'test' | 'live' | null, reporter: Reporter): Promise<void> {
  // The Stripe SDK is hundreds of modules: loaded only for --check-stripe, not on every push.
  const { createStripeGateway } = await import('../../template/stripe-gateway.js');
  let gateway;
  try {
    gateway = createStripeGateway({ apiBase: process.env.STRIPE_API_BASE });
  } catch (err) {
    throw usageError(`STRIPE_API_BASE: ${(err as Error).message}`);
  }
  try {
    const { livemode } = await gateway.testKey(secret);
    if (mode !== null && (mode === 'live') !== livemode) throw usageError(`Stripe says this key is ${livemode ? 'live' : 'test'}, but its prefix says ${mode}.`);
    reporter.note(`Stripe accepted the secret key (${livemode ? 'live' : 'test'} mode).`);
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('stripe_')) throw usageError(`--check-stripe: ${(err as Error).message}`, 'Check the key at https://dashboard.stripe.com/apikeys.');
    throw err;
  }
}

/** --resume: the run's own keys (from the vault) and its sites still pending. */
export async function planResume(opts: PushOptions, state: StateStore, reporter: Reporter): Promise<PushPlan> {
  const run = await state.getRun(opts.resume ?? '');
  if (!run) throw usageError(`no run ${opts.resume}.`, 'See keyfleet history for run ids.');
  if (run.command !== 'push' || !['interrupted', 'cancelled'].includes(run.state)) {
    throw usageError(`run ${run.id} is ${run.state}; only an interrupted or cancelled push can be resumed.`);
  }
  let keys: DesiredKeys;
  try {
    keys = await keysFromVault(state, run.keys);
  } catch (err) {
    if (!(err instanceof KeyNotInVaultError)) throw err;
    throw usageError(`the vault has no copy of ${err.setting} …${err.last4}; run a new push instead.`);
  }
  const pending = await state.siteResults(run.id, { status: ['pending'] });
  // The inventory (for per-site api_key_env) is the run's own unless another is given.
  const sitesFile = opts.sitesFile ?? run.sites_source ?? undefined;
  const inventory = sitesFile ? await loadSites({ ...opts, sitesFile, limit: undefined }, reporter) : [];
  const bySite = new Map(inventory.map((s) => [s.url, s]));
  const shared = process.env.TEMPLATE_MASTER_API_KEY || null;
  const sites: Site[] = pending.map((r) => bySite.get(r.url) ?? { url: r.url, name: r.url, tags: [], apiKeyEnv: null });
  await state.reopenRun(run.id);
  return { keys, tasks: tasksFor(sites, keys, shared, opts, await state.siteProtocols(sites.map((s) => s.url))), summary: `${describeSettings(Object.keys(keys) as SettingName[])} (resumed)`, resumeOf: run };
}
