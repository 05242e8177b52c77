import pg from 'pg';
import { quoteIdent } from './sql/postgres-db.js';

/** `attempts`: after a drop, before giving up (the next `start()` tries again). */
export interface ReconnectPolicy { attempts: number; baseDelayMs: number; maxDelayMs: number }

export const DEFAULT_RECONNECT: ReconnectPolicy = { attempts: 20, baseDelayMs: 100, maxDelayMs: 5000 };

export interface ChannelListenerOptions {
  clientConfig: pg.ClientConfig;
  channel: string;
  onNotify: (payload: string) => void;
  /** Runs after a reconnect: notifications sent while the connection was down are lost, so resync. */
  onReconnect: () => Promise<void>;
  log: (msg: string) => void;
  reconnect: ReconnectPolicy;
  /** What the log lines call it (`settings listener`). */
  name: string;
}

/**
 * One dedicated connection that LISTENs on one channel. LISTEN is per session, so it cannot live in
 * the pool; when the session drops (server restart, idle-killer, network) it is re-established with
 * capped exponential backoff, and `onReconnect` lets the owner resync what it may have missed.
 *
 * @example const l = new PgChannelListener({ clientConfig, channel, onNotify, onReconnect, log, reconnect, name });
 *          await l.start(); … await l.stop();
 */
export class PgChannelListener {
  private client: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;

  constructor(private readonly options: ChannelListenerOptions) {}

  /** Connects and LISTENs; rejects if the first connection fails (the caller sees the error). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const { clientConfig, channel, onNotify } = this.options;
    // Keepalive, so a connection silently cut by the network is noticed instead of waiting forever.
    const client = new pg.Client({ ...clientConfig, keepAlive: true });
    client.on('notification', (msg) => {
      if (msg.channel === channel && msg.payload !== undefined) onNotify(msg.payload);
    });
    client.on('error', (err) => this.dropped(client, err));
    client.on('end', () => this.dropped(client, null));
    try {
      await client.connect();
      await client.query(`LISTEN ${quoteIdent(channel)}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.stopped) {
      // stop() ran while this connection was being made.
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
  }

  private dropped(client: pg.Client, err: Error | null): void {
    // Ignores our own end() and errors of a connection that is already being replaced.
    if (client !== this.client || this.stopped) return;
    this.client = null;
    client.end().catch(() => undefined);
    this.options.log(`${this.options.name} lost its connection (${err?.message ?? 'closed'}); reconnecting`);
    this.schedule(1);
  }

  private schedule(attempt: number): void {
    const { attempts, baseDelayMs, maxDelayMs } = this.options.reconnect;
    const { log, name } = this.options;
    if (attempt > attempts) {
      log(`${name} gave up after ${attempts} attempts; changes made by other instances are not seen until restart`);
      return;
    }
    const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    // A pending reconnect alone should not keep the process alive.
    this.timer = setTimeout(() => {
      this.timer = null;
      this.reconnect(attempt).catch(() => undefined);
    }, delay).unref();
  }

  private async reconnect(attempt: number): Promise<void> {
    if (this.stopped) return;
    try {
      await this.connect();
    } catch (err) {
      this.options.log(`${this.options.name} reconnect attempt ${attempt} failed: ${(err as Error).message}`);
      this.schedule(attempt + 1);
      return;
    }
    if (this.stopped) return;
    this.options.log(`${this.options.name} reconnected after ${attempt} attempt(s)`);
    try {
      await this.options.onReconnect();
    } catch (err) {
      this.options.log(`${this.options.name.replace(/ listener$/, '')} resync after reconnect failed: ${(err as Error).message}`);
    }
  }
}
