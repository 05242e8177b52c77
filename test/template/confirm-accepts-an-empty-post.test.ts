import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { createSiteClient } from '../../src/engine/site-client.js';
import { ROUTES } from '../../src/protocol/routes.js';
import { startTestSite, type TestSite } from '../helpers/template-site.js';
import { MASTER_KEY } from '../helpers/keys.js';

const NEW_KEY = 'confirm-without-body-0123456789abcdefghij';
let site: TestSite;
beforeEach(async () => {
  site = await startTestSite();
});
afterEach(async () => site.close());

/** Regression: confirm sent with no body at all (as curl -X POST does) was a 400. */
it('confirms a rotated key with an empty POST, through the real client and with inject', async () => {
  await site.app.inject({ method: 'POST', url: ROUTES.rotateCredentials, headers: { 'x-api-key': MASTER_KEY, 'content-type': 'application/json' }, payload: JSON.stringify({ new_key: NEW_KEY }) });
  expect((await site.app.inject({ method: 'POST', url: ROUTES.confirmCredentials, headers: { 'x-api-key': NEW_KEY } })).statusCode).toBe(200);
  await site.app.listen({ port: 0, host: '127.0.0.1' });
  const client = createSiteClient({ timeoutMs: 2000, retries: 0, concurrency: 1 });
  try {
    await expect(client.confirmCredentials(`http://127.0.0.1:${(site.app.server.address() as AddressInfo).port}`, NEW_KEY)).resolves.toMatchObject({ attempts: 1 });
  } finally {
    await client.close();
  }
});
