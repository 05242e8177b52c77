import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isErrorCode } from '../../src/protocol/error-catalog.js';
import { ROUTES, settingPath } from '../../src/protocol/routes.js';
import { startTestSite, type TestSite } from '../helpers/template-site.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';

const json = { 'x-api-key': MASTER_KEY, 'content-type': 'application/json' };
const PK = settingPath('stripe_publishable_key');

type Case = [name: string, req: { method?: 'PUT' | 'POST' | 'GET' | 'DELETE'; url?: string; headers?: Record<string, string>; payload?: string }, status: number, code: string];

const cases: Case[] = [
  ['malformed JSON', { payload: '{"value":' }, 400, 'invalid_request'],
  ['a JSON string', { payload: '"pk_test_abc"' }, 400, 'invalid_request'],
  ['null', { payload: 'null' }, 400, 'invalid_request'],
  ['an array', { payload: '[]' }, 400, 'invalid_request'],
  ['an empty object', { payload: '{}' }, 400, 'invalid_request'],
  ['an empty body', { payload: '' }, 400, 'invalid_request'],
  ['value is a number', { payload: '{"value":123}' }, 400, 'invalid_request'],
  ['value is null', { payload: '{"value":null}' }, 400, 'invalid_request'],
  ['value is an array', { payload: '{"value":["pk_test_abc"]}' }, 400, 'invalid_request'],
  ['value is an object', { payload: '{"value":{"a":1}}' }, 400, 'invalid_request'],
  ['value is empty', { payload: '{"value":""}' }, 400, 'invalid_publishable_key_format'],
  ['value has unicode', { payload: '{"value":"pk_test_h\u00e9llo"}' }, 400, 'invalid_publishable_key_format'],
  ['value has a zero-width space', { payload: '{"value":"pk_test_abc\u200b"}' }, 400, 'invalid_publishable_key_format'],
  ['value is huge', { payload: JSON.stringify({ value: `pk_test_${'a'.repeat(100_000)}` }) }, 400, 'invalid_publishable_key_format'],
  ['body over 1 MB', { payload: JSON.stringify({ value: 'a'.repeat(1_100_000) }) }, 413, 'payload_too_large'],
  ['text/plain', { headers: { 'x-api-key': MASTER_KEY, 'content-type': 'text/plain' }, payload: 'pk_test_abc' }, 415, 'unsupported_media_type'],
  ['form encoded', { headers: { 'x-api-key': MASTER_KEY, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'value=pk_test_abc' }, 415, 'unsupported_media_type'],
  ['unknown route', { method: 'GET', url: '/api/nope' }, 404, 'not_found'],
  ['DELETE on a setting', { method: 'DELETE', url: PK, headers: { 'x-api-key': MASTER_KEY } }, 404, 'not_found'],
  ['launch: no body fields', { method: 'POST', url: ROUTES.launch, payload: '{}' }, 400, 'invalid_request'],
  ['launch: bad email', { method: 'POST', url: ROUTES.launch, payload: '{"domain":"a.example.fr","email":"nope","type":"standard"}' }, 400, 'invalid_request'],
  ['launch: bad domain', { method: 'POST', url: ROUTES.launch, payload: '{"domain":"../etc","email":"a@b.fr","type":"standard"}' }, 400, 'invalid_request'],
  ['launch: wrong types', { method: 'POST', url: ROUTES.launch, payload: '{"domain":1,"email":true,"type":null}' }, 400, 'invalid_request'],
  ['rotate: short key', { method: 'POST', url: ROUTES.rotateCredentials, payload: '{"new_key":"short"}' }, 400, 'weak_key'],
  ['rotate: whitespace', { method: 'POST', url: ROUTES.rotateCredentials, payload: JSON.stringify({ new_key: `${'a'.repeat(40)} ` }) }, 400, 'invalid_request'],
  ['rotate: number', { method: 'POST', url: ROUTES.rotateCredentials, payload: '{"new_key":12345}' }, 400, 'invalid_request'],
];

describe('bad input gets a documented 4xx, never a 500', () => {
  let site: TestSite;
  beforeAll(async () => {
    site = await startTestSite();
  });
  afterAll(async () => site.close());

  it.each(cases)('%s', async (_name, req, status, code) => {
    const res = await site.app.inject({
      method: req.method ?? 'PUT',
      url: req.url ?? PK,
      headers: req.headers ?? json,
      ...(req.payload !== undefined ? { payload: req.payload } : {}),
    });
    expect(res.statusCode).toBe(status);
    const body = res.json();
    expect(body).toEqual({ success: false, error: code, message: expect.any(String) });
    expect(isErrorCode(body.error)).toBe(true);
  });

  it('logged no internal error while doing so', () => {
    expect(site.logs.text()).not.toMatch(/"level":50/);
    expect(site.logs.text()).not.toContain('internal_error');
  });

  it('still accepts a good value afterwards', async () => {
    const res = await site.app.inject({ method: 'PUT', url: PK, headers: json, payload: JSON.stringify({ value: makeKey('pk') }) });
    expect(res.statusCode).toBe(200);
  });
});
