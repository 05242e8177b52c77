/**
 * What a site's authenticated key view lists in `capabilities`, so a client knows before it writes
 * (issue 10). Its own module, free of zod: the push reads it on every site and loads no schema library.
 */
export const CAPABILITIES = { atomicWrite: 'atomic_write' } as const;
export type Capability = (typeof CAPABILITIES)[keyof typeof CAPABILITIES];
