import type { CheckName, CheckResult, DoctorContext, SiteReport, SiteRun, StepOutcome } from './check.js';
import { fail, newSiteRun, skip } from './check.js';
import { diagnose } from './diagnosis.js';
import { checkDns } from './dns-check.js';
import { checkHealth, checkHome, checkStripePk } from './http-checks.js';
import { checkLatency, slowestMs } from './latency-check.js';
import { checkStripeHealth, checkTestStripe } from './stripe-checks.js';
import { checkTcp } from './tcp-check.js';
import { checkTls } from './tls-check.js';
import { checkUrl } from './url-check.js';

/**
 * The doctor's ladder for one site, in the guide's order. Each step names the steps it needs; a
 * step whose need failed (or was itself skipped for that reason) is `skip` — "not run: tls failed" —
 * while a step that does not apply (TLS on http://, test-stripe without --stripe) skips itself and
 * blocks nothing. Steps run one after another: each one's network operations hold a slot of the
 * shared in-flight limit, so a fleet run is bounded by `--concurrency`, not by the number of sites.
 * `signal` bounds the whole ladder (the dashboard's doctor has a time limit): once it aborts, the
 * step in progress fails as `timeout` (its detail is the signal's reason) and the rest are skipped;
 * the abandoned step ends in the background and its connection is closed after it.
 *
 * @example
 *   const result = await runLadder({ url: 'https://shop.example.fr', apiKey, apiKeyVariable: 'TEMPLATE_MASTER_API_KEY' }, ctx);
 *   result.report.diagnosis?.code; // e.g. 'certificate_expiring'
 */
interface Step {
  name: CheckName;
  needs: readonly CheckName[];
  run(site: SiteRun, ctx: DoctorContext): StepOutcome | Promise<StepOutcome>;
}

const LADDER: readonly Step[] = [
  { name: 'url', needs: [], run: checkUrl },
  { name: 'dns', needs: ['url'], run: checkDns },
  { name: 'tcp', needs: ['dns'], run: checkTcp },
  { name: 'tls', needs: ['tcp'], run: checkTls },
  { name: 'http', needs: ['tls'], run: checkHome },
  { name: 'health', needs: ['http'], run: checkHealth },
  { name: 'stripe-pk', needs: ['http'], run: checkStripePk },
  { name: 'stripe-health', needs: ['http'], run: checkStripeHealth },
  { name: 'test-stripe', needs: ['stripe-health'], run: checkTestStripe },
  { name: 'latency', needs: ['url'], run: checkLatency },
];

export type Verdict = 'pass' | 'warn' | 'fail';

export interface SiteResult {
  report: SiteReport;
  /** fail if any check failed, warn if any warned, else pass. */
  verdict: Verdict;
  /** Slowest HTTP answer, ms; null when the site never answered. */
  latencyMs: number | null;
}

export interface SiteInput {
  url: string;
  apiKey: string | null;
  /** Where the key comes from, for the curl command: TEMPLATE_MASTER_API_KEY or the site's api_key_env. */
  apiKeyVariable: string;
}

export async function runLadder(
  input: SiteInput,
  ctx: DoctorContext,
  signal?: AbortSignal,
): Promise<SiteResult> {
  const site = newSiteRun(input.url, input.apiKey, input.apiKeyVariable);
  /** A step the signal cut short, still running. */
  let abandoned: Promise<unknown> | undefined;
  const checks: CheckResult[] = [];
  const outcomes: Array<{ name: CheckName; outcome: StepOutcome }> = [];
  /** Steps that failed, or were skipped because of a failure: what blocks later steps. */
  const blocked = new Map<CheckName, CheckName>();

  try {
    for (const step of LADDER) {
      const cause = step.needs.map((n) => blocked.get(n)).find((c) => c !== undefined);
      const started = performance.now();
      let outcome: StepOutcome;
      if (cause !== undefined) {
        outcome = { status: 'skip', detail: `not run: ${cause} failed` };
        blocked.set(step.name, cause);
      } else if (signal?.aborted) {
        outcome = skip(`not run: ${stopReason(signal)}`);
      } else {
        const running = Promise.resolve(step.run(site, ctx));
        const cut = signal === undefined ? undefined : abortOf(signal);
        const first = cut === undefined ? await running : await Promise.race([running, cut.promise]);
        cut?.dispose();
        if (first === STOPPED) {
          abandoned = running.catch(() => undefined);
          outcome = fail('timeout', stopReason(signal as AbortSignal));
        } else outcome = first;
        if (outcome.status === 'fail') blocked.set(step.name, step.name);
      }
      outcomes.push({ name: step.name, outcome });
      checks.push({
        name: step.name,
        status: outcome.status,
        detail: outcome.detail,
        duration_ms: Math.round(performance.now() - started),
      });
    }
  } finally {
    if (abandoned === undefined) await site.http?.close();
    else void abandoned.then(() => site.http?.close()).catch(() => undefined);
  }

  const verdict: Verdict = checks.some((c) => c.status === 'fail')
    ? 'fail'
    : checks.some((c) => c.status === 'warn')
      ? 'warn'
      : 'pass';
  return {
    report: {
      url: site.url === null ? input.url : site.url.href.replace(/\/$/, ''),
      checks,
      diagnosis: diagnose(outcomes, site, ctx),
    },
    verdict,
    latencyMs: slowestMs(site),
  };
}

const STOPPED = Symbol('stopped');

function stopReason(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : 'the doctor was stopped';
}

/** A promise that resolves to STOPPED when `signal` aborts; dispose() removes the listener. */
function abortOf(signal: AbortSignal): { promise: Promise<typeof STOPPED>; dispose(): void } {
  let listener = () => undefined as void;
  const promise = new Promise<typeof STOPPED>((resolve) => {
    listener = () => resolve(STOPPED);
    if (signal.aborted) resolve(STOPPED);
    else signal.addEventListener('abort', listener, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener('abort', listener) };
}
