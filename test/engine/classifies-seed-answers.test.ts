import { describe, expect, it } from 'vitest';
import { healthStripeBody, pkBody, savedBody } from '../../src/engine/body-checks.js';
import { classifyResponse } from '../../src/engine/classify.js';
import { SiteError } from '../../src/engine/site-error.js';
import { makeKey } from '../helpers/keys.js';

/** Issue 9: the original template's answers as they are (SEED_TEMPLATE.md), and a liberal client everywhere. */
describe('classifies the seed template\'s answers', () => {
  it('a 400 {"success":false,"error":"invalid_secret_format"} (no message) is invalid_secret_format on either protocol', () => {
    const body = '{"error":"invalid_secret_format","success":false}';
    expect(classifyResponse(400, body, savedBody)).toMatchObject({ ok: false, code: 'invalid_secret_format' });
    expect(classifyResponse(400, body, savedBody, undefined, 'seed')).toMatchObject({ ok: false, code: 'invalid_secret_format' });
  });

  it("maps the seed's own format codes to the catalog's", () => {
    expect(classifyResponse(400, '{"error":"invalid_publishable_format","success":false}', savedBody, undefined, 'seed')).toMatchObject({ code: 'invalid_publishable_key_format' });
    expect(classifyResponse(400, '{"error":"invalid_price_id_format","success":false}', savedBody, undefined, 'seed')).toMatchObject({ code: 'invalid_price_id_format' });
    expect(classifyResponse(400, '{"error":"Valeur manquante","success":false}', savedBody, undefined, 'seed')).toMatchObject({ code: 'invalid_request' });
  });

  it('401 and 403 with any body are invalid_api_key on a seed site', () => {
    expect(classifyResponse(403, '{"error":"Cl\\u00e9 API invalide","success":false}', savedBody, undefined, 'seed')).toMatchObject({ code: 'invalid_api_key' });
    expect(classifyResponse(401, '{"error":"API key manquante","success":false}', savedBody, undefined, 'seed')).toMatchObject({ code: 'invalid_api_key' });
    expect(classifyResponse(401, '<html>no</html>', savedBody, undefined, 'seed')).toMatchObject({ code: 'invalid_api_key' });
  });

  it('a 500 keeps its text as detail, and the SiteError masks any secret in it', () => {
    const sk = makeKey('sk');
    const verdict = classifyResponse(500, JSON.stringify({ error: `boom near ${sk}`, success: false }), savedBody, undefined, 'seed');
    expect(verdict).toMatchObject({ ok: false, code: 'server_error' });
    if (verdict.ok) throw new Error('unreachable');
    expect(verdict.detail).toContain('boom near');
    const err = new SiteError({ code: verdict.code, url: 'http://127.0.0.1:1/x', httpStatus: 500, detail: verdict.detail, secrets: [sk] });
    expect(err.message).toContain('boom near');
    expect(JSON.stringify(err.toJSON())).not.toContain(sk);
  });

  it('a 404 with only message no_publishable_key is no_publishable_key', () => {
    expect(classifyResponse(404, '{"message":"no_publishable_key","success":false}', pkBody)).toMatchObject({ code: 'no_publishable_key' });
  });

  it('accepts success bodies with extra or other fields: the seed\'s {"key","ok"} and sorted keys', () => {
    expect(classifyResponse(200, '{"key":"stripe_webhook_secret","ok":true}', savedBody, undefined, 'seed')).toMatchObject({ ok: true });
    expect(classifyResponse(200, '{"extra":1,"publishable_key":"pk_test_a","success":true}', pkBody)).toMatchObject({ ok: true, value: { publishable_key: 'pk_test_a' } });
    expect(classifyResponse(200, '{"success":true,"secret_key_configured":true,"publishable_key_configured":true,"environment":"test","new_field":[1]}', healthStripeBody)).toMatchObject({ ok: true });
    expect(classifyResponse(200, '{"success":true}', healthStripeBody)).toMatchObject({ ok: false, code: 'unexpected_response' });
  });
});
