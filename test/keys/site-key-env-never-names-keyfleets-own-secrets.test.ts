import { describe, expect, it } from 'vitest';
import { checkSiteKeyEnv, siteKeyEnvPrefix } from '../../src/keys/site-key-env.js';

describe('api_key_env names (issue 12)', () => {
  it('accepts only names with the site-key prefix', () => {
    expect(checkSiteKeyEnv('KEYFLEET_SITE_KEY_SHOP')).toBeNull();
    for (const name of ['SHOP_API_KEY', 'KEYFLEET_SITE_KEY_', 'keyfleet_site_key_shop', 'KEYFLEET_SITE_KEY_SHOP X'])
      expect(checkSiteKeyEnv(name)).toMatch(/does not start with KEYFLEET_SITE_KEY_/);
  });

  it("never accepts keyfleet's or the template's own variables, whatever the prefix", () => {
    const prefix = siteKeyEnvPrefix({ KEYFLEET_SITE_KEY_ENV_PREFIX: 'KEYFLEET_' });
    for (const name of ['KEYFLEET_VAULT_KEY', 'KEYFLEET_ADMIN_TOKEN', 'KEYFLEET_ADMIN_PASSWORD', 'KEYFLEET_REGISTRATION_TOKEN'])
      expect(checkSiteKeyEnv(name, prefix)).toMatch(/keyfleet's own variables/);
    expect(checkSiteKeyEnv('KEYFLEET_SITE_KEY_SHOP', prefix)).toBeNull();
    expect(checkSiteKeyEnv('TEMPLATE_MASTER_API_KEY', siteKeyEnvPrefix({ KEYFLEET_SITE_KEY_ENV_PREFIX: 'TEMPLATE_' }))).toMatch(/own variables/);
    expect(checkSiteKeyEnv('SHOPKEY_A', siteKeyEnvPrefix({ KEYFLEET_SITE_KEY_ENV_PREFIX: 'SHOPKEY_' }))).toBeNull();
  });

  it('refuses an unusable prefix with the fix', () => {
    for (const bad of ['K', 'lower_', 'NO_TRAILING', 'A B_'])
      expect(() => siteKeyEnvPrefix({ KEYFLEET_SITE_KEY_ENV_PREFIX: bad })).toThrow(/must be upper-case/);
  });
});
