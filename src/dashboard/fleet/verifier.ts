import type { FastifyBaseLogger } from 'fastify';
import { preflightSite, Tally } from '../../engine/push-site.js';
import type { SiteClient } from '../../engine/site-client.js';
import { SiteError } from '../../engine/site-error.js';
import { mismatches } from '../../engine/site-state.js';
import { runPool, workersFor } from '../../engine/worker-pool.js';
import { maskSecrets } from '../../protocol/fingerprint.js';
import { keyMode } from '../../protocol/key-formats.js';
import type { FleetSite, SiteHealth } from '../../store/fleet-store.js';
import type { StateStore } from '../../store/state-store.js';
import { effectiveVersion, VersionKeys } from './desired.js';
import { heldFromSnapshot } from './held-keys.js';
import { UNREACHABLE } from './site-health.js';

/** A sweep's counts, live while it runs (issue 11: long work shows progress). */
export interface SweepCounts {
  /** Sites the sweep covers. */
  total: number;
  /** Sites read so far, whatever they answered. */
  checked: number;
  in_sync: number;
  drifted: number;
  unreachable: number;
  /** Reachable but answering wrongly (key refused, endpoint missing…). */
  errors: number;
  /** Sites left out because no key version is desired for them. */
  no_version: number;
}

export interface VerifierStatus {
  running: boolean;
  interval_s: number;
  sweeps: number;
  last_started_at: string | null;
  last_finished_at: string | null;
  last_checked: number;
  last_drifted: number;
  /** The last finished sweep's counts (null before the first). */
  last: SweepCounts | null;
  /** The running sweep's counts so far (null when none runs). */
  progress: SweepCounts | null;
}

/** Which sites a sweep covers: every site, or those of a filter (`unchecked`: never read yet). */
export interface SweepScope {
  refs?: string[];
  status?: 'unchecked' | 'unreachable' | 'any';
}

const emptyCounts = (): SweepCounts => ({
  total: 0,
  checked: 0,
  in_sync: 0,
  drifted: 0,
  unreachable: 0,
  errors: 0,
  no_version: 0,
});

export interface VerifierOptions {
  state: StateStore;
  client: SiteClient;
  concurrency: number;
  masterKey: string | null;
  /** 0 turns the periodic sweep off (a sweep can still be asked for). */
  intervalMs: number;
  log: FastifyBaseLogger;
  /** After every sweep (the safe-to-roll check hangs here). */
  onSwept?: () => Promise<void>;
}

/**
 * The periodic verify: every `intervalMs`, each site is read once (authenticated
 * /api/health/stripe, through the shared client and its in-flight limit, `workersFor(concurrency)`
 * sites at a time) and compared with its effective desired version; what it found is recorded as
 * the site's health, so drift shows in the fleet view and reconcile knows where to push. Sweeps
 * never overlap; writes nothing to sites and makes no run.
 */
export class FleetVerifier {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private readonly waiters: Array<{ sweeps: number; resolve: () => void }> = [];
  private closed = false;
  private readonly s: Omit<
    VerifierStatus,
    'running' | 'interval_s' | 'progress' | 'last_checked' | 'last_drifted'
  > = {
    sweeps: 0,
    last_started_at: null,
    last_finished_at: null,
    last: null,
  };
  private progress: SweepCounts | null = null;

  constructor(private readonly o: VerifierOptions) {}

  start(): void {
    if (this.o.intervalMs > 0 && !this.closed) {
      this.timer = setTimeout(() => void this.sweep().finally(() => this.start()), this.o.intervalMs);
      this.timer.unref();
    }
  }

  status(): VerifierStatus {
    return {
      running: this.current !== undefined,
      interval_s: this.o.intervalMs / 1000,
      ...this.s,
      // The older fields, read off the last sweep's counts.
      last_checked: this.s.last?.checked ?? 0,
      last_drifted: this.s.last?.drifted ?? 0,
      progress: this.progress && { ...this.progress },
    };
  }

  /**
   * Starts a sweep unless one is running (then that one is the answer); resolves when it ends.
   * `scope` narrows it to some sites (the "verify now" of the sites never checked).
   */
  sweep(scope: SweepScope = {}): Promise<void> {
    this.current ??= this.run(scope).finally(() => {
      this.current = undefined;
      for (const w of this.waiters.splice(0)) if (this.s.sweeps >= w.sweeps) w.resolve();
    });
    return this.current;
  }

  /** Resolves once `sweeps` sweeps have finished (or at once when they have), or after `timeoutMs`. */
  waitFor(sweeps: number, timeoutMs: number): Promise<void> {
    if (this.s.sweeps >= sweeps || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push({ sweeps, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.current;
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  private async run(scope: SweepScope): Promise<void> {
    const { state } = this.o;
    this.s.last_started_at = new Date().toISOString();
    const c = emptyCounts();
    this.progress = c;
    try {
      const desired = await state.fleet.desired();
      const versions = new VersionKeys(state);
      const sites = (
        scope.refs || scope.status
          ? await state.fleet.listSites({
              ...(scope.refs ? { refs: scope.refs } : {}),
              ...(scope.status ? { status: scope.status } : {}),
            })
          : await state.fleet.listSites()
      )
        // A site waiting for approval is never sent a key, not even to be read (issue 12).
        .filter((s) => s.approval !== 'pending');
      c.total = sites.length;
      await runPool(
        sites,
        workersFor(this.o.concurrency),
        async (site) => {
          const versionId = effectiveVersion(site, desired).version_id;
          if (versionId === null) {
            c.no_version += 1;
            return;
          }
          const health = await this.check(site, versionId, versions);
          await state.fleet.recordHealth(site.id, health);
          c.checked += 1;
          if (health.problem === 'drift') c.drifted += 1;
          else if (!health.reachable) c.unreachable += 1;
          else if (health.problem) c.errors += 1;
          else c.in_sync += 1;
        },
        () => this.closed,
      );
      await this.o.onSwept?.();
    } catch (err) {
      this.o.log.error({ err: maskSecrets((err as Error).message) }, 'verify sweep failed');
    }
    this.progress = null;
    Object.assign(this.s, {
      sweeps: this.s.sweeps + 1,
      last_finished_at: new Date().toISOString(),
      last: c,
    });
    if (c.checked > 0) this.o.log.info({ ...c }, 'verify sweep done');
  }

  private async check(site: FleetSite, versionId: string, versions: VersionKeys): Promise<SiteHealth> {
    const tally = new Tally();
    const base = { checked_at: '', version_id: versionId, latency_ms: null as number | null };
    try {
      const want = await versions.keys(versionId);
      const apiKey =
        (site.has_api_key ? await this.o.state.fleet.siteApiKey(site.id) : null) ?? this.o.masterKey;
      const now = await preflightSite(this.o.client, { url: site.url, apiKey, desired: want }, tally);
      await this.o.state.fleet.recordHeldKeys(site.id, heldFromSnapshot(now), new Date().toISOString());
      const wrong = mismatches(want, now);
      // On a seed site the secret is unknown (issue 9): neither as desired nor drifted.
      const as = (name: 'stripe_publishable_key' | 'stripe_secret_key') =>
        want[name] === undefined || now.unknown?.includes(name) ? null : !wrong.includes(name);
      return {
        ...base,
        checked_at: new Date().toISOString(),
        latency_ms: tally.attempts > 0 ? Math.round(tally.ms / tally.attempts) : null,
        reachable: true,
        pk_as_desired: as('stripe_publishable_key'),
        sk_as_desired: as('stripe_secret_key'),
        mode: keyMode(now.publishable_key),
        problem: wrong.length > 0 ? 'drift' : null,
      };
    } catch (err) {
      if (!(err instanceof SiteError)) throw err;
      const latency = tally.attempts > 0 ? Math.round(tally.ms / tally.attempts) : null;
      return {
        ...base,
        checked_at: new Date().toISOString(),
        latency_ms: latency,
        reachable: !UNREACHABLE.has(err.code),
        pk_as_desired: null,
        sk_as_desired: null,
        mode: null,
        problem: err.code,
      };
    }
  }
}
