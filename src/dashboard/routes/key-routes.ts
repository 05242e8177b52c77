import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { REPORT_KEY_NAMES } from '../../engine/run-report.js';
import type { DesiredKeys } from '../../engine/site-state.js';
import { validateKeys } from '../../keys/validate-keys.js';
import { DASHBOARD_ROUTES } from '../../protocol/dashboard-routes.js';
import type { SettingName } from '../../protocol/settings.js';
import type { SafeToRoll } from '../../store/fleet-store.js';
import type { KeyVersion, MaskedKey } from '../../store/state-store.js';
import { AuditQuery, DesiredBody, KeysBody } from '../api-schemas.js';
import { audit } from '../audit.js';
import { adminOf, requireAdmin } from '../auth/admin-guard.js';
import type { DashboardContext } from '../context.js';
import { DashboardError } from '../errors.js';
import { VersionKeys } from '../fleet/desired.js';
import { keyRollAdvice } from '../fleet/safe-to-roll.js';
import { ensureVersion } from './site-routes.js';

const FIELDS = {
  publishable_key: 'stripe_publishable_key',
  secret_key: 'stripe_secret_key',
  webhook_secret: 'stripe_webhook_secret',
  price_id: 'stripe_price_id',
} as const satisfies Record<string, SettingName>;

/** A key as the API shows it: prefix, last4, fingerprint, mode — never the value. */
function maskedView(keys: Record<string, MaskedKey>) {
  const out: Record<
    string,
    { prefix: string | null; last4: string; fingerprint: string; mode: string | null }
  > = {};
  for (const [setting, k] of Object.entries(keys)) {
    out[REPORT_KEY_NAMES[setting] ?? setting] = {
      prefix: k.prefix ?? null,
      last4: k.last4,
      fingerprint: k.fingerprint,
      mode: k.mode,
    };
  }
  return out;
}

function versionView(
  v: Pick<KeyVersion, 'id' | 'keys' | 'created_at'> & { created_by?: string },
  safe: SafeToRoll[],
) {
  const s = safe.find((x) => x.version_id === v.id);
  return {
    id: v.id,
    created_at: v.created_at,
    created_by: v.created_by ?? null,
    keys: maskedView(v.keys),
    safe_to_roll: s ? { verified_at: s.verified_at, sites: s.sites } : null,
  };
}

/**
 * The key vault as the dashboard shows it (masked versions, the desired state, when each version
 * was verified everywhere) and the two ways to change what the fleet should hold: a new version
 * (POST keys: the given keys over the current ones) or pointing the default or a tag at a version.
 */
export function registerKeyRoutes(app: FastifyInstance, ctx: DashboardContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const guard = requireAdmin(ctx);

  r.get(DASHBOARD_ROUTES.keys, { preValidation: guard }, async () => {
    const safe = await ctx.state.fleet.safeToRoll();
    const versions = (await ctx.state.listKeyVersions()).map((v) => versionView(v, safe));
    return { success: true, desired: await ctx.state.fleet.desired(), versions };
  });

  // Per key, never per version: a key is safe to roll only when no site wants it or was seen holding it.
  r.get(DASHBOARD_ROUTES.keyRoll, { preValidation: guard }, async () => {
    const keys = (await keyRollAdvice(ctx.state)).map((k) => ({
      ...k,
      name: REPORT_KEY_NAMES[k.setting] ?? k.setting,
    }));
    return { success: true, keys };
  });

  r.post(DASHBOARD_ROUTES.keys, { preValidation: guard, schema: { body: KeysBody } }, async (req, reply) => {
    const actor = adminOf(req).actor;
    const given: DesiredKeys = {};
    for (const [field, setting] of Object.entries(FIELDS) as Array<[keyof typeof FIELDS, SettingName]>) {
      const value = req.body[field];
      if (value !== undefined) given[setting] = value;
    }
    if (Object.keys(given).length === 0)
      throw new DashboardError(
        'invalid_keys',
        'Give at least one of publishable_key, secret_key, webhook_secret, price_id.',
      );
    const tag = req.body.tag;
    const makeDefault = req.body.make_default;
    if (makeDefault === undefined)
      throw new DashboardError(
        'invalid_request',
        `Say whether the new version becomes ${tag === undefined ? 'the fleet default' : `the override of tag ${tag}`} now: make_default: true (sites get it on the next push), or make_default: false to only save it (PUT /api/admin/desired later).`,
      );
    const desired = await ctx.state.fleet.desired();
    const base = tag !== undefined ? (desired.tags[tag] ?? desired.fleet) : desired.fleet;
    // The new version is the current one with the given keys replaced: changing the pk keeps the sk.
    const keys: DesiredKeys = { ...(base ? await new VersionKeys(ctx.state).keys(base) : {}), ...given };
    const verdict = validateKeys(keys);
    if (!verdict.ok)
      throw new DashboardError(
        'invalid_keys',
        verdict.problems.map((p) => `${p.message} (${p.hint})`).join(' '),
      );
    const saved = await ctx.state.saveKeyVersion(keys, actor);
    const now = makeDefault
      ? await ctx.state.fleet.setDesired(tag === undefined ? {} : { tag }, saved.id, actor)
      : desired;
    await audit(ctx, req, actor, 'keys.create', saved.id, {
      scope: tag === undefined ? 'fleet' : `tag:${tag}`,
      made_default: makeDefault,
      previous: base,
      changed: Object.keys(given).map((s) => REPORT_KEY_NAMES[s] ?? s),
      keys: maskedView(saved.keys),
    });
    const warnings = verdict.warnings.map((w) => w.message);
    if (verdict.live) warnings.push("LIVE keys: real customers' payments will use them once pushed.");
    const version = versionView({ ...saved, created_by: actor }, await ctx.state.fleet.safeToRoll());
    return reply.code(201).send({ success: true, version, desired: now, made_default: makeDefault, warnings });
  });

  r.put(DASHBOARD_ROUTES.desired, { preValidation: guard, schema: { body: DesiredBody } }, async (req) => {
    const { version, tag } = req.body;
    if (version !== null) await ensureVersion(ctx, version);
    const actor = adminOf(req).actor;
    const desired = await ctx.state.fleet.setDesired(tag === undefined ? {} : { tag }, version, actor);
    await audit(ctx, req, actor, 'desired.set', version, {
      scope: tag === undefined ? 'fleet' : `tag:${tag}`,
    });
    return { success: true, desired };
  });

  r.get(
    DASHBOARD_ROUTES.audit,
    { preValidation: guard, schema: { querystring: AuditQuery } },
    async (req) => {
      return { success: true, entries: await ctx.state.fleet.listAudit({ limit: req.query.limit ?? 100 }) };
    },
  );
}
