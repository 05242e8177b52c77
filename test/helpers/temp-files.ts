import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A scratch directory per test file: `file(name, text)` writes and returns the path, `cleanup()`
 * removes everything (call it from afterAll).
 */
export function tempDir(prefix = 'keyfleet-test-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    file(name: string, text: string | Buffer, mode = 0o600): string {
      const path = join(dir, name);
      writeFileSync(path, text, { mode });
      return path;
    },
    cleanup(): void {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
