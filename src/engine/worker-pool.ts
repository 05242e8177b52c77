/**
 * Runs `worker` over `items` in order with at most `workers` at a time, until every item is done or
 * `stop()` says so (items not yet started stay untouched). Workers pull the next item, so memory
 * stays flat however long the list.
 */
export async function runPool<T>(items: readonly T[], workers: number, worker: (item: T) => Promise<void>, stop: () => boolean): Promise<void> {
  let next = 0;
  const loop = async (): Promise<void> => {
    while (!stop() && next < items.length) {
      const item = items[next++] as T;
      await worker(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(workers, items.length)) }, loop));
}

/** Sites worked on at once: enough to keep every request slot busy while some sites back off. */
export const workersFor = (concurrency: number): number => Math.max(1, concurrency * 2);
