import { randomInt } from 'node:crypto';
import type { FleetSite, NewFleetSite, SiteApproval, SiteHealth, SiteSource } from './fleet-store.js';

/**
 * Backend-neutral parts of the fleet registry: site ids, the rules for names and tags, and the
 * mapping between `fleet_sites` rows and FleetSite records. A Postgres fleet store reuses them as-is.
 */

/** Lower case letters and digits minus i, l, o, u (read aloud wrongly), as run ids. */
const ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
export const SITE_ID = /^s_[0-9a-hjkmnp-tv-z]{10}$/;

export function newSiteId(): string {
  let id = 's_';
  for (let i = 0; i < 10; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

export const TAG = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const NAME = /^[^\s/?#][^/?#]{0,199}$/;

/** Throws a message for the operator when a name cannot be used (it also appears in URLs). */
export function checkSiteName(name: string): void {
  if (!NAME.test(name) || name !== name.trim()) {
    throw new RangeError(
      `Site name "${name}" is not usable: 1-200 characters, no "/", "?" or "#", no surrounding spaces.`,
    );
  }
  // The template-facing routes take a name or an id: a name shaped like an id would be ambiguous.
  if (SITE_ID.test(name)) throw new RangeError(`Site name "${name}" looks like a site id; choose another.`);
}

export function checkTags(tags: readonly string[]): string[] {
  const out: string[] = [];
  for (const tag of tags) {
    if (typeof tag !== 'string' || !TAG.test(tag)) {
      throw new RangeError(
        `Tag "${String(tag)}" is not usable: letters, digits, "_", ".", ":" and "-", at most 64.`,
      );
    }
    if (!out.includes(tag)) out.push(tag);
  }
  return out;
}

export interface SiteRow {
  id: string;
  url: string;
  name: string;
  api_key_sealed: string | null;
  desired_version_id: string | null;
  source: string;
  added_at: string;
  added_by: string;
  approval?: string | null;
  approved_at?: string | null;
  approved_by?: string | null;
  reachable: number | boolean | null;
  pk_as_desired: number | boolean | null;
  sk_as_desired: number | boolean | null;
  mode: string | null;
  latency_ms: number | null;
  checked_at: string | null;
  problem: string | null;
  checked_version_id: string | null;
}

const bool = (v: number | boolean | null): boolean | null => (v === null ? null : Boolean(v));

export function siteFromRow(row: SiteRow, tags: string[]): FleetSite {
  return {
    id: row.id,
    url: row.url,
    name: row.name,
    tags,
    has_api_key: row.api_key_sealed !== null,
    desired_version_id: row.desired_version_id,
    source: row.source as SiteSource,
    added_at: row.added_at,
    added_by: row.added_by,
    approval: row.approval === 'pending' ? 'pending' : ('approved' as SiteApproval),
    approved_at: row.approved_at ?? null,
    approved_by: row.approved_by ?? null,
    health:
      row.checked_at === null
        ? null
        : {
            reachable: Boolean(row.reachable),
            pk_as_desired: bool(row.pk_as_desired),
            sk_as_desired: bool(row.sk_as_desired),
            mode: (row.mode as SiteHealth['mode']) ?? null,
            latency_ms: row.latency_ms,
            checked_at: row.checked_at,
            problem: row.problem,
            version_id: row.checked_version_id,
          },
  };
}

/** SQL condition (on `fleet_sites`) for "has a problem": unreachable, an error, or a setting not as desired. */
export const PROBLEM_SQL =
  '(checked_at IS NOT NULL AND (reachable = FALSE OR problem IS NOT NULL OR pk_as_desired = FALSE OR sk_as_desired = FALSE))';

/** The approval columns (approval, approved_at, approved_by) of a new site. */
export function approvalOf(site: NewFleetSite, now: string): [SiteApproval, string | null, string | null] {
  if (site.approval === 'pending') return ['pending', null, null];
  return site.approvedBy === undefined ? ['approved', null, null] : ['approved', now, site.approvedBy];
}
