import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RunEvent } from './live-run.js';

/** Comment lines keep proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

/** One SSE frame; `data` is a single line of JSON (JSON.stringify never emits a newline). */
export function sseFrame(e: RunEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

/** Last-Event-ID of a reconnecting EventSource (or `?after=` for clients that cannot set headers). */
export function lastEventId(req: FastifyRequest): number {
  const raw = req.headers['last-event-id'] ?? (req.query as { after?: string } | undefined)?.after;
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/**
 * Open SSE streams, so the app can end them before it closes (an open stream would otherwise keep
 * the server's close waiting forever).
 */
export class SseStreams {
  private readonly open = new Set<() => void>();

  /**
   * Takes the reply over and streams `text/event-stream`: `subscribe` is called with a writer and
   * returns its unsubscribe; the stream ends after an `end` event, when the client goes away, or when
   * `closeAll` is called. Headers already set on the reply (security headers) are kept.
   */
  stream(reply: FastifyReply, subscribe: (write: (e: RunEvent) => void) => () => void): void {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    let finished = false;
    let unsubscribe: () => void = () => undefined;
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    const finish = () => {
      if (finished) return;
      finished = true;
      clearInterval(heartbeat);
      unsubscribe();
      this.open.delete(finish);
      res.end();
    };
    this.open.add(finish);
    res.once('close', finish); // the client went away (IncomingMessage 'close' fires when the body is read)
    unsubscribe = subscribe((e) => {
      if (finished) return;
      res.write(sseFrame(e));
      if (e.type === 'end') finish();
    });
    if (finished) unsubscribe();
  }

  closeAll(): void {
    for (const finish of [...this.open]) finish();
  }
}
