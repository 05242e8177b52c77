import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { fingerprint } from '../../protocol/fingerprint.js';
import { DASHBOARD_ROUTES } from '../../protocol/dashboard-routes.js';
import { SiteExistsError, type FleetSite, type HeldKeys } from '../../store/fleet-store.js';
import { AddSiteBody, IdParams, ImportBody, PatchSiteBody, SiteQuery } from '../api-schemas.js';
import { audit } from '../audit.js';
import { adminOf, requireAdmin } from '../auth/admin-guard.js';
import type { DashboardContext } from '../context.js';
import { DashboardError } from '../errors.js';
import { siteByAlias } from '../fleet/site-aliases.js';
import { importSites } from '../fleet/site-import.js';
import { defaultSiteName, siteUrlOrThrow, siteView } from '../fleet/site-views.js';

const IMPORT_LIMIT = 40 * 1024 * 1024;

/** The settings a site was last seen holding no value for. */
function missingOf(held: HeldKeys | undefined): string[] {
  return Object.entries(held ?? {})
    .filter(([, fp]) => fp === null)
    .map(([setting]) => setting)
    .sort();
}

/**
 * The fleet registry: list (filter by tag, by problem, by a search, by ids, names or URLs; paged),
 * add, change, remove, import. A site's own API key goes in sealed and never comes out
 * (`has_api_key`); the audit log names the key only by its fingerprint.
 */
export function registerSiteRoutes(app: FastifyInstance, ctx: DashboardContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const guard = requireAdmin(ctx);
  const view = async (site: FleetSite) => siteView(site, await ctx.state.fleet.desired());
  const find = async (ref: string) => {
    const site = await ctx.state.fleet.getSite(ref);
    if (!site) throw new DashboardError('site_not_found');
    return site;
  };
  const keyDetail = (key: string | null | undefined) =>
    typeof key === 'string' ? { api_key_fingerprint: fingerprint(key) } : {};

  r.get(DASHBOARD_ROUTES.sites, { preValidation: guard, schema: { querystring: SiteQuery } }, async (req) => {
    const { tag, problem, q, ref, limit, offset, summary, sort } = req.query;
    const desired = await ctx.state.fleet.desired();
    // Filtered and paged in the store's query: a page of 50 is read as 50 rows, whatever the fleet.
    const page = await ctx.state.fleet.pageSites(
      {
        ...(tag?.length ? { tags: tag } : {}),
        ...(problem ? { status: problem } : {}),
        ...(q?.trim() ? { q: q.trim() } : {}),
        ...(ref ? { refs: ref } : {}),
      },
      { limit, offset, ...(sort ? { sort } : {}) },
    );
    // Issue 11: a site that holds no key is said `missing`, not `differs` (what it was last seen holding).
    const held = await ctx.state.fleet.heldKeysOf(page.sites.map((s) => s.id));
    return {
      success: true,
      desired,
      sites: page.sites.map((s) => ({ ...siteView(s, desired), missing: missingOf(held.get(s.id)) })),
      total: page.total,
      ...(limit !== undefined || offset !== undefined ? { limit: limit ?? null, offset: offset ?? 0 } : {}),
      // The tiles follow the tag filter (issue 11); the tag menu's counts stay the fleet's.
      ...(summary ? { summary: await ctx.state.fleet.siteSummary(tag?.length ? { tags: tag } : {}) } : {}),
    };
  });

  r.post(
    DASHBOARD_ROUTES.sites,
    { preValidation: guard, schema: { body: AddSiteBody } },
    async (req, reply) => {
      const actor = adminOf(req).actor;
      const url = siteUrlOrThrow(req.body.url, ctx.config.allowHttp);
      // `http://localhost:5000` is the site `http://127.0.0.1:5000` already is (issue 12).
      const alias = await siteByAlias(ctx.state.fleet, url);
      if (alias) throw new SiteExistsError('url', `${url}, registered as ${alias.url}`);
      const site = await ctx.state.fleet.addSite({
        url,
        name: req.body.name?.trim() || defaultSiteName(url),
        tags: req.body.tags ?? [],
        apiKey: req.body.api_key ?? null,
        source: 'admin',
        addedBy: actor,
      });
      await audit(ctx, req, actor, 'site.add', site.id, {
        url,
        name: site.name,
        tags: site.tags,
        ...keyDetail(req.body.api_key),
      });
      return reply.code(201).send({ success: true, site: await view(site) });
    },
  );

  r.patch(
    DASHBOARD_ROUTES.site,
    { preValidation: guard, schema: { params: IdParams, body: PatchSiteBody } },
    async (req) => {
      const site = await find(req.params.id);
      const b = req.body;
      if (b.desired_version) await ensureVersion(ctx, b.desired_version);
      const updated = await ctx.state.fleet.updateSite(site.id, {
        name: b.name?.trim(),
        tags: b.tags,
        apiKey: b.api_key,
        desiredVersionId: b.desired_version,
      });
      if (!updated) throw new DashboardError('site_not_found');
      const changed = Object.keys(b).filter((k) => b[k as keyof typeof b] !== undefined);
      await audit(ctx, req, adminOf(req).actor, 'site.update', site.id, {
        url: site.url,
        changed,
        ...(b.tags ? { tags: updated.tags } : {}),
        ...(b.desired_version !== undefined ? { desired_version: b.desired_version } : {}),
        ...keyDetail(b.api_key),
      });
      return { success: true, site: await view(updated) };
    },
  );

  r.delete(DASHBOARD_ROUTES.site, { preValidation: guard, schema: { params: IdParams } }, async (req) => {
    const site = await find(req.params.id);
    await ctx.state.fleet.removeSite(site.id);
    await audit(ctx, req, adminOf(req).actor, 'site.remove', site.id, { url: site.url, name: site.name });
    return { success: true, id: site.id };
  });

  r.post(
    DASHBOARD_ROUTES.importSites,
    { preValidation: guard, bodyLimit: IMPORT_LIMIT, schema: { body: ImportBody } },
    async (req) => {
      const actor = adminOf(req).actor;
      const result = await importSites(ctx.state.fleet, req.body, {
        actor,
        allowHttp: ctx.config.allowHttp,
        env: ctx.env,
      });
      await audit(ctx, req, actor, 'site.import', null, {
        format: req.body.format,
        added: result.added.length,
        skipped: result.skipped.length,
        sites: result.added.slice(0, 100).map((s) => s.id),
      });
      const desired = await ctx.state.fleet.desired();
      return {
        success: true,
        added: result.added.map((s) => siteView(s, desired)),
        skipped: result.skipped,
        warnings: result.warnings,
      };
    },
  );
}

export async function ensureVersion(ctx: DashboardContext, id: string): Promise<void> {
  if (!(await ctx.state.listKeyVersions()).some((v) => v.id === id))
    throw new DashboardError('key_version_not_found', `No key version ${id}.`);
}
