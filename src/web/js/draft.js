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

/** `eu, prod  us` → ['eu', 'prod', 'us'] */
export function splitList(text) {
  return text
    .split(/[\s,]+/)
    .map((t) => t.trim())
    .filter(Boolean);
}
