import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP relay in front of a real site that can hold the site's writes: while `hold()` is on, every
 * PUT waits until `release()`; reads pass at once. A run then stops at that one site, where a test can
 * look at the UI mid-run — no sleep, no timing guess.
 *
 * @example const held = await startHeldSite(fleet.urls[3]); held.hold(); …; await held.waitForHeld(); held.release();
 */
export async function startHeldSite(target: string) {
  const upstream = new URL(target);
  let holding = false;
  let holdingReads = false;
  let waiting: Array<() => void> = [];
  let onHeld: Array<{ n: number; resolve: () => void }> = [];
  let heldCount = 0;

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const up = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  };

  const server = createServer((req, res) => {
    if ((holding && req.method === 'PUT') || holdingReads) {
      waiting.push(() => forward(req, res));
      heldCount += 1;
      for (const w of onHeld.filter((w) => heldCount >= w.n)) w.resolve();
      onHeld = onHeld.filter((w) => heldCount < w.n);
    } else forward(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    /** From now on, writes wait. */
    hold() {
      holding = true;
      heldCount = 0;
    },
    /** From now on, every request waits, reads too (a verify sweep then stops at this site). */
    holdAll() {
      holding = true;
      holdingReads = true;
      heldCount = 0;
    },
    /** Lets every waiting request through and stops holding. */
    release() {
      holding = false;
      holdingReads = false;
      const go = waiting;
      waiting = [];
      for (const f of go) f();
    },
    /** Resolves once `n` writes are being held. */
    waitForHeld(n = 1): Promise<void> {
      if (heldCount >= n) return Promise.resolve();
      return new Promise((resolve) => onHeld.push({ n, resolve }));
    },
    async close() {
      this.release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
