/** What can be done with a finished run, from any view: resume it, confirm a preview, re-run its failed sites. */
import { ROUTES, api } from '../api.js';
import { announce } from '../dom.js';
import { plural } from '../format.js';

async function act(route, id, ctx, errorEl, said) {
  try {
    const res = await api(route, { method: 'POST', params: { id }, body: {} });
    announce(said(res));
    ctx.navigate(`#/runs/${encodeURIComponent(res.run_id)}`);
  } catch (err) {
    if (errorEl) errorEl.textContent = err.message;
    else throw err;
  }
}

export const resumeRun = (id, ctx, errorEl) =>
  act(ROUTES.resumeRun, id, ctx, errorEl, () => `Resuming run ${id}.`);

export const confirmRun = (id, ctx, errorEl) =>
  act(ROUTES.confirmRun, id, ctx, errorEl, (res) => `Pushing to ${plural(res.sites, 'site')}.`);

export const retryFailed = (id, ctx, errorEl) =>
  act(ROUTES.retryFailed, id, ctx, errorEl, (res) => `Re-running ${plural(res.sites, 'failed site')}.`);
