import type { Phase } from '../../engine/push-run.js';
import type { SiteOutcome } from '../../engine/push-site.js';
import type { RunReport } from '../../engine/run-report.js';
import type { SettingName } from '../../protocol/settings.js';

/**
 * One event of a run, as sent over server-sent events: `phase` (preflight, canary, push), `site` (a
 * site reached its final status), `end` (the final report). Ids count from 1 in the order the events
 * happened, so a client reconnecting with Last-Event-ID gets exactly what it missed.
 */
export type RunEvent =
  | { id: number; type: 'phase'; data: { phase: Phase; sites: number } }
  | { id: number; type: 'site'; data: SiteEventData }
  | { id: number; type: 'end'; data: EndEventData };

export type SiteEventData = Pick<
  SiteOutcome,
  'url' | 'status' | 'verified' | 'attempts' | 'duration_ms' | 'error'
> & {
  changes: SettingName[];
  /** Who worked the site (migration 8); null when not recorded. */
  worker: string | null;
};
export type EndEventData = RunReport & { reason: string | null };

type Listener = (event: RunEvent) => void;
type NewEvent = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'id'> : never) : never;

/**
 * A run this process is executing (or executed): its events so far and the listeners following
 * it. A late subscriber first gets every event that already happened, then the new ones as they
 * come — no gap and no duplicate, since both happen synchronously in `follow`.
 */
export class LiveRun {
  readonly events: RunEvent[] = [];
  phase: Phase | null = null;
  reason: string | null = null;
  private readonly listeners = new Set<Listener>();
  private ended = false;

  constructor(readonly runId: string) {}

  get done(): boolean {
    return this.ended;
  }

  emitPhase(phase: Phase, sites: number): void {
    this.phase = phase;
    this.emit({ type: 'phase', data: { phase, sites } });
  }

  emitSite(o: SiteOutcome): void {
    const { url, status, verified, attempts, duration_ms, error, changes } = o;
    const worker = o.worker ?? null;
    this.emit({
      type: 'site',
      data: { url, status, verified, attempts, duration_ms, error, changes, worker },
    });
  }

  end(report: EndEventData): void {
    if (this.ended) return;
    this.emit({ type: 'end', data: report });
    this.ended = true;
    this.listeners.clear();
  }

  /**
   * Replays the events after `afterId`, then calls `listener` with each new one; returns the
   * unsubscribe function. A run that has ended replays and unsubscribes at once.
   */
  follow(listener: Listener, afterId = 0): () => void {
    for (const e of this.events) if (e.id > afterId) listener(e);
    if (this.ended) return () => undefined;
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: NewEvent): void {
    const e = { ...event, id: this.events.length + 1 } as RunEvent;
    this.events.push(e);
    for (const l of this.listeners) l(e);
  }
}
