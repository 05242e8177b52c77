/**
 * What the Sites view hands to the Push view when the operator picks sites there ("Push to
 * selected", "Reconcile drifted"): read once by the push form, then cleared.
 */
export const pushDraft = { sites: [], tags: [], driftedOnly: false, note: '' };

export function setPushDraft(draft) {
  Object.assign(pushDraft, { sites: [], tags: [], driftedOnly: false, note: '' }, draft);
}

export function takePushDraft() {
  const taken = { ...pushDraft };
  setPushDraft({});
  return taken;
}

/** Tags as typed: `eu, prod  us` → ['eu', 'prod', 'us'] (a tag holds no space or comma). */
export function splitTags(text) {
  return text
    .split(/[\s,]+/)
    .map((t) => t.trim())
    .filter(Boolean);
}

/** Sites as typed: names, ids or URLs, one per line or comma-separated (a name may hold a space). */
export function splitSites(text) {
  return text
    .split(/[,\n]+/)
    .map((t) => t.trim())
    .filter(Boolean);
}
