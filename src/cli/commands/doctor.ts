import { X509Certificate } from 'node:crypto';
import { isProtocolChoice, PROTOCOL_CHOICES } from '../../engine/protocol-choice.js';
import { readFile } from 'node:fs/promises';
import { runPool } from '../../engine/worker-pool.js';
import { API_KEY_ENV, loadKeys, type KeySet } from '../../keys/key-source.js';
import { EXIT } from '../../protocol/error-catalog.js';
import { isValidKey } from '../../protocol/key-formats.js';
import { SETTINGS, SETTING_NAMES } from '../../protocol/settings.js';
import type { DoctorContext } from '../../doctor/check.js';
import { createDoctorHttp } from '../../doctor/doctor-http.js';
import { writeJson, writeText } from '../../doctor/doctor-report.js';
import { runLadder, type SiteInput, type SiteResult } from '../../doctor/ladder.js';
import { usageError } from '../../protocol/cli-error.js';
import {
  apiKeyFor,
  loadSites,
  parseCount,
  parseTimeoutMs,
  workersFor,
  type FleetOptions,
} from '../fleet-options.js';
import { interruptible } from '../interrupt.js';
import { createReporter } from '../output/create-reporter.js';
import type { Reporter } from '../output/reporter.js';

export interface DoctorOptions extends FleetOptions {
  stripe?: boolean;
  envFile?: string;
  caFile?: string;
  /** Positionals from main.ts: [url]. */
  _args?: unknown[];
}

/**
 * `keyfleet doctor <url>` or `--sites-file …`: the troubleshooting guide's checks, automated, for
 * one site (a full report) or a fleet (a table). Exit 0 when no site fails (warnings included),
 * 1 when any fails, 2 on usage errors; 130 when interrupted.
 */
export async function doctor(opts: DoctorOptions): Promise<number> {
  const json = opts.json === true;
  const reporter = createReporter({ json, verbose: opts.verbose === true });
  const url = typeof opts._args?.[0] === 'string' ? opts._args[0] : undefined;
  if (url !== undefined && opts.sitesFile !== undefined) {
    throw usageError('give one site URL or --sites-file, not both.');
  }
  if (url === undefined && opts.sitesFile === undefined) {
    throw usageError(
      'no site to examine.',
      'e.g. keyfleet doctor https://shop.example.fr, or --sites-file sites.txt',
    );
  }
  const concurrency = parseCount(opts.concurrency, '--concurrency', 16);
  const timeoutMs = parseTimeoutMs(opts.timeout);
  const retries = parseCount(opts.retries, '--retries', 2, 0);
  const ca = opts.caFile === undefined ? undefined : await readCa(opts.caFile);
  const loaded = await loadKeys({ envFile: opts.envFile, warn: (m) => reporter.warn(m) });

  const sites: SiteInput[] =
    url !== undefined
      ? [{ url, apiKey: loaded.apiKey, apiKeyVariable: API_KEY_ENV }]
      : (await loadSites(opts, reporter)).map((s) => ({
          url: s.url,
          apiKey: apiKeyFor(s, loaded.apiKey, loaded.apiKeyFor),
          apiKeyVariable: s.apiKeyEnv ?? API_KEY_ENV,
        }));

  const http = createDoctorHttp({
    timeoutMs,
    retries,
    concurrency,
    ca,
    env: process.env,
    onRequest: opts.verbose
      ? (e) =>
          reporter.verbose(
            `  ${e.method} ${e.url} #${e.attempt} → ${e.status ?? '-'} ${e.code ?? 'ok'} ${e.durationMs} ms`,
          )
      : undefined,
  });
  const extraCa = process.env.NODE_EXTRA_CA_CERTS || undefined;
  const ctx: DoctorContext = {
    http,
    timeoutMs,
    allowHttp: opts.allowHttp === true,
    ca,
    caFile: opts.caFile ?? extraCa,
    caFileVariable: opts.caFile === undefined && extraCa !== undefined ? 'NODE_EXTRA_CA_CERTS' : undefined,
    env: process.env,
    expected: expectedKeys(loaded.keys, reporter),
    stripe: opts.stripe === true,
    protocol: opts.protocol === undefined ? 'auto' : protocolChoice(opts.protocol),
  };

  const results: Array<SiteResult | undefined> = new Array<SiteResult | undefined>(sites.length);
  const order = sites.map((_, i) => i);
  const stop = interruptible((m) => reporter.note(m));
  try {
    await runPool(
      order,
      workersFor(concurrency),
      async (i) => {
        results[i] = await runLadder(sites[i] as SiteInput, ctx);
      },
      () => stop.signal.aborted,
    );
  } finally {
    stop.dispose();
    await http.close();
  }
  const done = results.filter((r): r is SiteResult => r !== undefined);
  const fleet = url === undefined;
  if (json) writeJson(done, fleet, process.stdout);
  else writeText(done, fleet, { out: process.stdout, env: process.env });
  if (stop.signal.aborted) return EXIT.cancelled;
  return done.some((r) => r.verdict === 'fail') ? EXIT.someFailed : EXIT.ok;
}

/** `--ca-file`: one or more PEM certificates, trusted on top of the bundled roots. */
async function readCa(path: string): Promise<string> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw usageError(`cannot read --ca-file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}).`);
  }
  try {
    new X509Certificate(pem);
  } catch {
    throw usageError(
      `--ca-file ${path} is not a PEM certificate.`,
      'Give the CA certificate (-----BEGIN CERTIFICATE-----…).',
    );
  }
  return pem;
}

/** The operator's keys that can be compared; a malformed one is reported and left out. */
function expectedKeys(keys: KeySet, reporter: Reporter): KeySet {
  const out: KeySet = {};
  for (const name of SETTING_NAMES) {
    const value = keys[name];
    if (value === undefined) continue;
    if (isValidKey(SETTINGS[name].kind, value)) out[name] = value;
    else
      reporter.warn(
        `${SETTINGS[name].envVar} is not a valid key (${SETTINGS[name].formatError}): not compared; run keyfleet validate.`,
      );
  }
  return out;
}

function protocolChoice(value: string): 'auto' | 'keyfleet' | 'seed' {
  if (!isProtocolChoice(value)) throw usageError(`--protocol must be one of ${PROTOCOL_CHOICES.join(', ')} (got "${value}").`);
  return value;
}
