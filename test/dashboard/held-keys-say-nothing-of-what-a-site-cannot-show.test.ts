import { describe, expect, it } from 'vitest';
import { heldFromSnapshot } from '../../src/dashboard/fleet/held-keys.js';
import { fingerprint } from '../../src/protocol/fingerprint.js';

// Safe-to-roll (issue 11) counts what sites were seen holding; a seed site (issue 9) never shows its
// secrets, so its snapshot must leave them out ("not known"), never record them as "holds nothing".
describe('what a read says a site holds', () => {
  it('a seed snapshot: the publishable key by value, the unknown settings absent', () => {
    const pk = 'pk_test_' + 'a'.repeat(24);
    const held = heldFromSnapshot({
      publishable_key: pk,
      price_id: null,
      fingerprints: {
        stripe_publishable_key: fingerprint(pk),
        stripe_secret_key: null,
        stripe_webhook_secret: null,
        stripe_price_id: null,
      },
      protocol: 'seed',
      unknown: ['stripe_secret_key', 'stripe_webhook_secret', 'stripe_price_id'],
    });
    expect(held).toEqual({ stripe_publishable_key: fingerprint(pk) });
  });

  it('a keyfleet snapshot: every setting, null where the site holds none', () => {
    const held = heldFromSnapshot({
      publishable_key: null,
      price_id: null,
      fingerprints: {
        stripe_publishable_key: null,
        stripe_secret_key: 'fp_sk',
        stripe_webhook_secret: null,
        stripe_price_id: null,
      },
    });
    expect(held).toEqual({
      stripe_publishable_key: null,
      stripe_secret_key: 'fp_sk',
      stripe_webhook_secret: null,
      stripe_price_id: null,
    });
  });
});
