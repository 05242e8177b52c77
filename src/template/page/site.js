// The template's landing page: loads the publishable key, shows test/live mode, starts checkout.
(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  if (params.get('checkout') === 'success') $('status').textContent = 'Payment received — your site is being launched.';
  if (params.get('checkout') === 'cancel') $('status').textContent = 'Checkout was cancelled; you can try again.';

  fetch('/api/stripe-pk')
    .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
    .then(({ ok, body }) => {
      if (!ok || !body.publishable_key) throw new Error(body.message || 'Payments are not configured yet.');
      const live = body.publishable_key.startsWith('pk_live_');
      $('mode').textContent = live ? 'Live mode' : 'Test mode';
      $('mode').className = 'mode ' + (live ? 'live' : 'test');
      $('submit').disabled = false;
    })
    .catch((err) => {
      $('mode').textContent = 'Not configured';
      $('mode').className = 'mode off';
      $('error').textContent = err.message;
    });

  $('launch').addEventListener('submit', (event) => {
    event.preventDefault();
    $('error').textContent = '';
    // Disabling the focused button drops keyboard focus to <body>; it is given back if checkout fails.
    const hadFocus = document.activeElement === $('submit');
    $('submit').disabled = true;
    const payload = { domain: $('domain').value, email: $('email').value, type: $('type').value };
    fetch('/saas_launch_site', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    })
      .then((r) => r.json())
      .then((body) => {
        if (!body.success) throw new Error(body.message || 'Could not start checkout.');
        location.assign(body.checkout_url);
      })
      .catch((err) => {
        $('error').textContent = err.message;
        $('submit').disabled = false;
        if (hadFocus) $('submit').focus();
      });
  });
})();
