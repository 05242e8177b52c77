import type { SettingName } from '../protocol/settings.js';
import type { ProtocolChoice, ProtocolName } from './protocol-choice.js';
import type { ReadOptions } from './site-client.js';

/**
 * What a preflight in either protocol is given (site-protocol.ts, seed-protocol.ts): the site task,
 * the tally its requests' attempts are counted in, and the read options.
 */

/** What a preflight needs of a site task. */
export interface ProtocolTask {
  url: string;
  apiKey: string | null;
  desired: Partial<Record<SettingName, string>>;
  /** Forced by the inventory or `--protocol`; default `auto` (detected). */
  protocol?: ProtocolChoice;
  /**
   * What an earlier run detected (state migration 6). With `auto`, a site remembered as `seed` is
   * preflighted the seed way first (no probe of its missing health view); if it was upgraded since,
   * the 404 sends it to the keyfleet view.
   */
  protocolHint?: ProtocolName;
}

export interface Tallying {
  add<T>(r: { value: T; attempts: number }): T;
}

export interface PreflightOptions extends ReadOptions {
  /** Read every public value the protocol can (backup), not only those being pushed. */
  full?: boolean;
}
