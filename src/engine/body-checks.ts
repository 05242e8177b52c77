import type { HealthBody, HealthStripeBody, PkBody, SavedBody, TestStripeBody } from '../protocol/bodies.js';
import type { BodyCheck } from './classify.js';

/**
 * Cheap shape checks of the 2xx bodies the push reads on every site. The bodies are ours (or the
 * seed template's, documented in SEED_TEMPLATE.md), so a few `typeof`s say as much as a zod walk at
 * a fraction of its CPU (issue 10: no schema on the per-request hot path). Unknown extra fields are
 * ignored everywhere, as the liberal client of DESIGN §1 must.
 */
const ok = <T>(data: T) => ({ success: true as const, data });
const no = { success: false as const };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `{"success":true,"publishable_key":"pk_…"}`. */
export const pkBody: BodyCheck<PkBody> = {
  safeParse: (v) => (isRecord(v) && v.success === true && typeof v.publishable_key === 'string' ? ok(v as PkBody) : no),
};

/** A PUT's success: the template's `{"success":true,"message":…}`, the seed's also `{"key":…,"ok":true}`. */
export const savedBody: BodyCheck<SavedBody> = {
  safeParse: (v) => (isRecord(v) && (v.success === true || v.ok === true) ? ok(v as SavedBody) : no),
};

/** GET /api/export/settings/stripe_price_id on a seed site: `{"price_id":"price_…","success":true}`. */
export const priceBody: BodyCheck<{ price_id: string }> = {
  safeParse: (v) => (isRecord(v) && v.success === true && typeof v.price_id === 'string' ? ok(v as { price_id: string }) : no),
};

/** GET /api/export/stats: `{"success":true,"stats":{…},…}` — only success matters. */
export const successBody: BodyCheck<true> = {
  safeParse: (v) => (isRecord(v) && v.success === true ? ok(true as const) : no),
};

/** GET /api/export/settings (seed, public): any flat object. */
export const anyObject: BodyCheck<Record<string, unknown>> = {
  safeParse: (v) => (isRecord(v) ? ok(v) : no),
};

/**
 * `/api/health/stripe`, public or authenticated (and the atomic write's answer). `keys`, when
 * present, must map each setting to null or an object with a string fingerprint; everything else a
 * reader uses is checked where it is used.
 */
export const healthStripeBody: BodyCheck<HealthStripeBody> = {
  safeParse(v) {
    if (!isRecord(v) || v.success !== true) return no;
    if (typeof v.secret_key_configured !== 'boolean' || typeof v.publishable_key_configured !== 'boolean') return no;
    if (v.capabilities !== undefined && !Array.isArray(v.capabilities)) return no;
    if (v.keys !== undefined) {
      if (!isRecord(v.keys)) return no;
      for (const k in v.keys) {
        const info = v.keys[k];
        if (info === null) continue;
        if (!isRecord(info) || typeof info.fingerprint !== 'string') return no;
        if (info.value !== undefined && typeof info.value !== 'string') return no;
      }
    }
    return ok(v as unknown as HealthStripeBody);
  },
};

/** `GET /api/health`: `{"status":"ok"|"error","version":…,"database":"ok"|"error"}`. */
export const healthBody: BodyCheck<HealthBody> = {
  safeParse: (v) =>
    isRecord(v) && (v.status === 'ok' || v.status === 'error') && typeof v.version === 'string' && (v.database === 'ok' || v.database === 'error')
      ? ok(v as HealthBody)
      : no,
};

/** `POST /api/test-stripe`: `{"success":true,"livemode":bool}`. */
export const testStripeBody: BodyCheck<TestStripeBody> = {
  safeParse: (v) => (isRecord(v) && v.success === true && typeof v.livemode === 'boolean' ? ok(v as TestStripeBody) : no),
};
