import type { FastifyBaseLogger } from 'fastify';
import type { DoctorContext, SiteReport } from '../../doctor/check.js';
import { createDoctorHttp } from '../../doctor/doctor-http.js';
import { runLadder, type Verdict } from '../../doctor/ladder.js';
import { KeyNotInVaultError } from '../../engine/run-keys.js';
import { API_KEY_ENV, type KeySet } from '../../keys/key-source.js';
import { maskSecrets } from '../../protocol/fingerprint.js';
import { isValidKey } from '../../protocol/key-formats.js';
import { SETTINGS, SETTING_NAMES } from '../../protocol/settings.js';
import type { FleetSite } from '../../store/fleet-store.js';
import type { StateStore } from '../../store/state-store.js';
import type { DashboardConfig } from '../config.js';
import { DashboardError } from '../errors.js';
import { effectiveVersion, VersionKeys } from './desired.js';

/**
 * `keyfleet doctor <url>` for one registered site, from the dashboard: the same ladder (src/doctor),
 * opened with the key the dashboard pushes with (the site's own, else TEMPLATE_MASTER_API_KEY) and
 * compared with the site's effective desired key version instead of the operator's environment.
 *
 * - One doctor per site at a time (in this process): a second request while one runs is refused with
 *   409 `doctor_running` rather than joined, so every answer belongs to the request that asked for it
 *   (its own `stripe` choice, its own audit entry). The site stays busy until the doctor's
 *   connections are closed, which may be one request timeout after the answer when the time limit cut it.
 * - Bounded: the whole ladder gets `doctorTimeoutMs`; the step in progress then fails as `timeout`
 *   and the rest are skipped, so the answer is still a report.
 * - The report is the CLI's `--json` object for one site, masked: anything secret-shaped, and every
 *   key this doctor held (site key, master key, desired secrets), whatever a site echoed back.
 *
 * @example
 *   const doctor = new SiteDoctor({ state, config, env, masterKey, log });
 *   const { report, verdict } = await doctor.examine(site, { stripe: false });
 */
export interface SiteDoctorOptions {
  state: StateStore;
  config: Pick<DashboardConfig, 'timeoutMs' | 'retries' | 'concurrency' | 'allowHttp' | 'doctorTimeoutMs'>;
  /** Proxy variables and NODE_EXTRA_CA_CERTS (for the curl command) are read here. */
  env: Readonly<Record<string, string | undefined>>;
  masterKey: string | null;
  log: FastifyBaseLogger;
}

export interface SiteDoctorResult {
  report: SiteReport;
  verdict: Verdict;
  /** The key version the site's keys were compared with; null when none (nothing compared). */
  versionId: string | null;
  /** What opened the site: its own key, the master key, or none. */
  apiKey: 'site' | 'master' | null;
}

/** The curl command's name for a site's own key (the dashboard keeps it sealed; no variable holds it). */
export const SITE_KEY_VARIABLE = 'SITE_API_KEY';

export class SiteDoctor {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();

  constructor(private readonly o: SiteDoctorOptions) {}

  /**
   * Runs the ladder on `site`; DashboardError `doctor_running` when one is already running there,
   * `site_pending` when the site waits for approval.
   */
  async examine(site: FleetSite, opts: { stripe: boolean }): Promise<SiteDoctorResult> {
    // A site waiting for approval is sent nothing, not even a key to read with (issue 12): checked
    // here too, so every caller (one site, a bulk job over a filter) holds to it.
    if (site.approval === 'pending') throw new DashboardError('site_pending');
    if (this.running.has(site.id)) throw new DashboardError('doctor_running');
    const controller = new AbortController();
    let release = () => undefined as void;
    const entry = { controller, done: new Promise<void>((r) => (release = r)) };
    // Taken before the first await: two requests for one site cannot both pass the check above.
    this.running.set(site.id, entry);
    const http = createDoctorHttp({
      timeoutMs: this.o.config.timeoutMs,
      retries: this.o.config.retries,
      concurrency: this.o.config.concurrency,
      env: this.o.env,
    });
    const limit = this.o.config.doctorTimeoutMs;
    const timer = setTimeout(
      () => controller.abort(`stopped: the dashboard's doctor time limit (${limit / 1000} s) ran out`),
      limit,
    );
    const secrets: string[] = [];
    try {
      const own = site.has_api_key ? await this.o.state.fleet.siteApiKey(site.id) : null;
      const apiKey = own ?? this.o.masterKey;
      if (apiKey !== null) secrets.push(apiKey);
      if (this.o.masterKey !== null) secrets.push(this.o.masterKey);
      const { versionId, expected } = await this.desiredKeys(site);
      for (const name of SETTING_NAMES) {
        const value = expected[name];
        if (SETTINGS[name].secret && value !== undefined) secrets.push(value);
      }
      const extraCa = this.o.env.NODE_EXTRA_CA_CERTS || undefined;
      const ctx: DoctorContext = {
        http,
        timeoutMs: this.o.config.timeoutMs,
        allowHttp: this.o.config.allowHttp,
        ca: undefined,
        caFile: extraCa,
        caFileVariable: extraCa === undefined ? undefined : 'NODE_EXTRA_CA_CERTS',
        env: this.o.env,
        expected,
        stripe: opts.stripe,
      };
      const result = await runLadder(
        { url: site.url, apiKey, apiKeyVariable: own !== null ? SITE_KEY_VARIABLE : API_KEY_ENV },
        ctx,
        controller.signal,
      );
      const report = redact(result.report, secrets);
      this.o.log.info(
        {
          site: site.id,
          verdict: result.verdict,
          diagnosis: report.diagnosis?.code ?? null,
          stripe: opts.stripe,
        },
        `doctor ${site.id}: ${result.verdict}`,
      );
      return {
        report,
        verdict: result.verdict,
        versionId,
        apiKey: own !== null ? 'site' : apiKey !== null ? 'master' : null,
      };
    } finally {
      clearTimeout(timer);
      // Busy until its connections are closed: a step cut by the time limit may still be on the wire.
      void http
        .close()
        .catch(() => undefined)
        .finally(() => {
          this.running.delete(site.id);
          release();
        });
    }
  }

  /** Stops every doctor in progress and waits for their connections to close. */
  async close(): Promise<void> {
    const all = [...this.running.values()];
    for (const r of all) r.controller.abort('stopped: the dashboard is shutting down');
    await Promise.all(all.map((r) => r.done));
  }

  /** The site's effective desired keys, opened from the vault; none when it has no version. */
  private async desiredKeys(site: FleetSite): Promise<{ versionId: string | null; expected: KeySet }> {
    const versionId = effectiveVersion(site, await this.o.state.fleet.desired()).version_id;
    if (versionId === null) return { versionId, expected: {} };
    let keys: KeySet;
    try {
      keys = await new VersionKeys(this.o.state).keys(versionId);
    } catch (err) {
      // A version the vault cannot open fully: the ladder runs, it just compares nothing.
      if (err instanceof KeyNotInVaultError || err instanceof DashboardError) {
        this.o.log.warn({ site: site.id, version: versionId }, maskSecrets(err.message));
        return { versionId: null, expected: {} };
      }
      throw err;
    }
    const expected: KeySet = {};
    for (const name of SETTING_NAMES) {
      const value = keys[name];
      if (value !== undefined && isValidKey(SETTINGS[name].kind, value)) expected[name] = value;
    }
    return { versionId, expected };
  }
}

/** The report with every secret-shaped token masked and every held key replaced, whatever a site sent. */
function redact(report: SiteReport, secrets: readonly string[]): SiteReport {
  let text = maskSecrets(JSON.stringify(report));
  for (const s of secrets)
    if (s.length >= 8) text = text.replaceAll(JSON.stringify(s).slice(1, -1), '[redacted]');
  return JSON.parse(text) as SiteReport;
}
