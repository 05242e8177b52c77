// Shared by the harness (run.js) and the simulated fleet (sim-fleet.js).

// Where simulated site i lives: its own loopback address. 254 hosts per /24 (no .0, no .255),
// starting at 127.0.1.1 so 127.0.0.1 stays free for everything else on the machine; 127.0.x.y
// covers 64,770 sites, then 127.1.x.y and so on. Linux routes all of 127/8 to `lo`, so any of
// these can be bound without configuring an interface.
export function siteAddress(i) {
  const block = 1 + Math.floor(i / 254);
  return `127.${block >> 8}.${block & 255}.${1 + (i % 254)}`;
}

/** Inverse of siteAddress, for a server that learns its address from the socket. */
export function siteIndex(address) {
  const [, a, b, c] = address.split('.').map(Number);
  return ((a << 8) | b) * 254 - 254 + (c - 1);
}

/** Milliseconds on CLOCK_MONOTONIC: one clock for every process, so several sims' logs merge. */
export const now = () => Number(process.hrtime.bigint()) / 1e6;
