import { z } from 'zod';

/**
 * Request bodies and queries of the dashboard's JSON API (DASHBOARD_ROUTES). Each accepts JSON and,
 * for the web UI's plain forms, the url-encoded equivalent: lists as repeated fields or one
 * comma-separated field, booleans as `true`/`on`/`1`. Unknown fields (such as `_csrf`) are dropped.
 */
const list = z.union([
  z.array(z.string().max(2048)).max(100_000),
  z
    .string()
    .max(1_000_000)
    .transform((s) =>
      s
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    ),
]);
const flag = z.union([
  z.boolean(),
  z.enum(['true', 'false', 'on', 'off', '1', '0']).transform((v) => ['true', 'on', '1'].includes(v)),
]);
/** A site's own API key (X-API-Key): printable, no whitespace. */
const apiKey = z.string().min(16).max(4096).regex(/^\S+$/, 'must not contain whitespace');
const keyValue = z.string().min(1).max(4096);

export const LoginBody = z.object({ password: z.string().max(1024) });

/**
 * Filters, then a page: without `limit` every matching site is listed (as before paging existed).
 * `q` is a case-insensitive substring of the URL or the name; `summary` adds the fleet-wide counts
 * per status and per tag (the web UI's tiles and tag menu).
 */
export const SiteQuery = z.object({
  tag: list.optional(),
  problem: z.enum(['any', 'unreachable', 'drift', 'error', 'unchecked', 'none']).optional(),
  q: z.string().max(2048).optional(),
  /** Sites whose id, name or URL is one of these, exactly (a run's sites, the sites picked to push to). */
  ref: list.refine((refs) => refs.length <= 500, 'at most 500 sites').optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  offset: z.coerce.number().int().min(0).max(10_000_000).optional(),
  summary: flag.optional(),
  /** `problems`: errors, drifted, unreachable and unchecked sites first (issue 11). */
  sort: z.enum(['added', 'problems']).optional(),
});

export const AddSiteBody = z.object({
  url: z.string().max(2048),
  name: z.string().max(200).optional(),
  tags: list.optional(),
  api_key: apiKey.optional(),
});

export const PatchSiteBody = z.object({
  name: z.string().max(200).optional(),
  tags: list.optional(),
  /** null: the site goes back to TEMPLATE_MASTER_API_KEY. */
  api_key: apiKey.nullable().optional(),
  /** null: the site follows its tags' override or the fleet default again. */
  desired_version: z.string().max(64).nullable().optional(),
});

export const ImportBody = z.object({
  /** `seed`: one URL per line, # comments (the seed's sites file); `yaml`: the YAML inventory. */
  format: z.enum(['seed', 'yaml']).default('seed'),
  content: z.string().max(32 * 1024 * 1024),
  /** Added to every imported site. */
  tags: list.optional(),
});

export const KeysBody = z.object({
  publishable_key: keyValue.optional(),
  secret_key: keyValue.optional(),
  webhook_secret: keyValue.optional(),
  price_id: keyValue.optional(),
  /** Make the new version this tag's override instead of the fleet default. */
  tag: z.string().max(64).optional(),
  /**
   * Required (issue 11): true makes the new version the fleet default (or the tag's override) at
   * once; false only saves it, to be made desired later (PUT /api/admin/desired).
   */
  make_default: flag.optional(),
});

export const DesiredBody = z.object({
  /** null removes a tag's override. */
  version: z.string().max(64).nullable(),
  tag: z.string().max(64).optional(),
});

export const RunBody = z.object({
  dry_run: flag.optional(),
  tags: list.optional(),
  /** Ids, names or URLs. */
  sites: list.optional(),
  /** Reconcile: only sites drifted from their desired version (or never checked). */
  drifted_only: flag.optional(),
  /** Only the sites with this status / matching this search (the Sites page's filters, issue 11). */
  problem: z.enum(['any', 'unreachable', 'drift', 'error', 'unchecked', 'none']).optional(),
  q: z.string().max(2048).optional(),
  canary: z.coerce.number().int().min(0).max(1000).optional(),
  max_failures: z.string().max(16).optional(),
});

/**
 * Confirming a preview (issue 11): `only_passed` leaves out the sites the preview could not check;
 * `max_failures` is the real push's budget — never the preview's, which checks every site — and
 * defaults to 10 %.
 */
export const ConfirmBody = z
  .object({
    only_passed: flag.optional(),
    max_failures: z.string().max(16).optional(),
  })
  .nullish();

/** Re-running the failed sites of a run, all of them or those of one failure code. */
export const RetryBody = z.object({ code: z.string().max(64).optional() }).nullish();

export const ExportQuery = z.object({
  code: z.string().max(64).optional(),
  status: z.enum(['ok', 'failed', 'skipped', 'unchanged', 'pending']).optional(),
});

/**
 * Bulk work over every site matching a filter (the Sites page's filters) or named sites. `expected`
 * is how many sites the operator saw matching: a fleet that changed since is refused (409), so
 * "remove all 4,995 unreachable" never removes a site that became reachable meanwhile… unnoticed.
 */
export const BulkBody = z.object({
  action: z.enum(['remove', 'add_tags', 'remove_tags', 'doctor']),
  tag: list.optional(),
  problem: z.enum(['any', 'unreachable', 'drift', 'error', 'unchecked', 'none']).optional(),
  q: z.string().max(2048).optional(),
  sites: list.optional(),
  /** For add_tags / remove_tags. */
  tags: list.optional(),
  expected: z.coerce.number().int().min(0),
});

export const RunsQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).optional() });
export const AuditQuery = RunsQuery;
export const IdParams = z.object({ id: z.string().max(300) });

export const RegisterBody = z.object({
  site_url: z.string().max(2048),
  site_name: z.string().max(200).optional(),
  api_key: apiKey,
  /** Required when the site is registered already: its current key (issue 12). */
  current_api_key: z.string().max(512).optional(),
});
