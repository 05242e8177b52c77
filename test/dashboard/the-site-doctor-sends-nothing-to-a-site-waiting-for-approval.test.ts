import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SiteDoctor } from '../../src/dashboard/fleet/site-doctor.js';
import type { StateStore } from '../../src/store/state-store.js';
import { startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';
import { MASTER_KEY } from '../helpers/keys.js';
import { anyStateBackend } from '../store/any-state-backend.js';
import { DASHBOARD_BACKEND } from './dashboard-fixture.js';

/**
 * The approval rule (issue 12) held by the site doctor itself, not only by the one-site route: a
 * caller that picks sites by a filter (the console's bulk doctor, issue 11.8) cannot send the master
 * key to a site waiting for approval. The approved twin proves the doctor does reach a site.
 */
describe('the site doctor sends nothing to a site waiting for approval', () => {
  const db = anyStateBackend(DASHBOARD_BACKEND);
  let state: StateStore;
  let pendingSite: FakeSiteServer;
  let approvedSite: FakeSiteServer;
  let doctor: SiteDoctor;

  beforeAll(async () => {
    state = await db.open();
    pendingSite = await startFakeSite({ apiKey: MASTER_KEY });
    approvedSite = await startFakeSite({ apiKey: MASTER_KEY });
    const common = { tags: [], apiKey: null, addedBy: 'test' };
    await state.fleet.addSite({
      ...common,
      url: pendingSite.url,
      name: 'stranger',
      source: 'register',
      approval: 'pending',
    });
    await state.fleet.addSite({ ...common, url: approvedSite.url, name: 'shop', source: 'admin' });
    doctor = new SiteDoctor({
      state,
      config: { timeoutMs: 3000, retries: 0, concurrency: 4, allowHttp: true, doctorTimeoutMs: 20_000 },
      env: {},
      masterKey: MASTER_KEY,
      log: pino({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    await doctor.close();
    await Promise.all([pendingSite.close(), approvedSite.close()]);
    await state.close();
    await db.cleanup();
  });

  it('refuses with site_pending and makes no request; the approved site is examined', async () => {
    const sites = await state.fleet.listSites();
    const pending = sites.find((s) => s.approval === 'pending');
    const approved = sites.find((s) => s.approval === 'approved');
    await expect(doctor.examine(pending!, { stripe: false })).rejects.toMatchObject({ code: 'site_pending' });
    expect(pendingSite.requests).toEqual([]);
    await doctor.examine(approved!, { stripe: false });
    expect(approvedSite.requests.length).toBeGreaterThan(0);
  });
});
