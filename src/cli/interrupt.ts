/**
 * Ctrl-C during a run: the first stops new sites from starting and lets those in flight finish
 * (their results are recorded, the run can be resumed); a second one quits at once (exit 130).
 */
export function interruptible(note: (m: string) => void): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    note('stopping: letting the sites in flight finish (Ctrl-C again to quit now)…');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
