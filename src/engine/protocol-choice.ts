/**
 * The names of the two site protocols (site-protocol.ts): `keyfleet` and `seed`, and `auto` — the
 * choice an inventory entry, `--protocol` or a site task makes when the protocol is detected at
 * preflight.
 */
export type ProtocolName = 'keyfleet' | 'seed';
export type ProtocolChoice = ProtocolName | 'auto';
export const PROTOCOL_CHOICES: readonly ProtocolChoice[] = ['auto', 'keyfleet', 'seed'];

export function isProtocolChoice(value: unknown): value is ProtocolChoice {
  return typeof value === 'string' && (PROTOCOL_CHOICES as readonly string[]).includes(value);
}
