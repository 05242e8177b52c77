/**
 * What can be done with a finished run, from any view: resume it, re-run its failed sites
 * (confirming a preview goes through its dialog, run-confirm.js). Each starts a run and opens it; the button stays disabled while the request is out,
 * so a double click starts one run, not two.
 */
import { ROUTES, api } from '../api.js';
import { announce } from '../dom.js';
import { plural } from '../format.js';

async function act(route, id, ctx, errorEl, button, said) {
  if (button) button.disabled = true;
  try {
    const res = await api(route, { method: 'POST', params: { id }, body: {} });
    announce(said(res));
    ctx.navigate(`#/runs/${encodeURIComponent(res.run_id)}`);
  } catch (err) {
    if (button) button.disabled = false;
    if (errorEl) errorEl.textContent = err.message;
    else throw err;
  }
}

export const resumeRun = (id, ctx, errorEl, button) =>
  act(ROUTES.resumeRun, id, ctx, errorEl, button, () => `Resuming run ${id}.`);


export const retryFailed = (id, ctx, errorEl, button) =>
  act(
    ROUTES.retryFailed,
    id,
    ctx,
    errorEl,
    button,
    (res) => `Re-running ${plural(res.sites, 'failed site')}.`,
  );
