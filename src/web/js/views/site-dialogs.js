/**
 * The Sites view's dialogs: add a site, import the seed's sites file or the YAML inventory, edit a
 * site (name, tags, own API key, pinned key version), remove one. Each resolves with what the API
 * answered, or null when cancelled. An API key typed here goes to the server once and is never
 * shown again (the API only says `has_api_key`).
 */
import { ROUTES, api } from '../api.js';
import { splitTags } from '../draft.js';
import { field, h, openDialog } from '../dom.js';

const keyInput = (name) =>
  h('input', { type: 'password', name, autocomplete: 'off', spellcheck: 'false', minlength: 16 });

export function addSiteDialog() {
  return openDialog({
    title: 'Add a site',
    body: h(
      'div',
      { class: 'stack' },
      field(
        'Site URL',
        h('input', {
          type: 'url',
          name: 'url',
          required: true,
          placeholder: 'https://shop.example.com',
          autocomplete: 'off',
        }),
      ),
      field(
        'Name',
        h('input', { name: 'name', autocomplete: 'off' }),
        'Optional: the URL without its scheme by default.',
      ),
      field(
        'Tags',
        h('input', { name: 'tags', autocomplete: 'off', placeholder: 'production, eu' }),
        'Comma-separated.',
      ),
      field(
        'Site API key',
        keyInput('api_key'),
        "Optional: the site's own X-API-Key. Empty: TEMPLATE_MASTER_API_KEY opens it. Stored sealed, never shown again.",
      ),
    ),
    actions: [
      { label: 'Cancel', value: 'cancel' },
      { label: 'Add site', value: 'add', submit: true, class: 'primary' },
    ],
    onSubmit: async (form) => {
      const f = form.elements;
      const body = { url: f.url.value.trim() };
      if (f.name.value.trim()) body.name = f.name.value.trim();
      if (f.tags.value.trim()) body.tags = splitTags(f.tags.value);
      if (f.api_key.value) body.api_key = f.api_key.value;
      const res = await api(ROUTES.sites, { method: 'POST', body });
      f.api_key.value = '';
      return res;
    },
  });
}

export function importDialog() {
  const status = h('p', { class: 'muted', role: 'status' });
  const file = h('input', { type: 'file', name: 'file', accept: '.txt,.yml,.yaml,.list,text/plain' });
  const paste = h('textarea', {
    name: 'content',
    rows: 6,
    spellcheck: 'false',
    placeholder: 'https://shop1.example.com\nhttps://shop2.example.com',
  });
  const format = (value, label, checked) =>
    h(
      'label',
      { class: 'inline' },
      h('input', { type: 'radio', name: 'format', value, checked }),
      ' ',
      label,
    );
  return openDialog({
    title: 'Import sites',
    body: h(
      'div',
      { class: 'stack' },
      h(
        'fieldset',
        {},
        h('legend', {}, 'Format'),
        format('seed', "Sites file (one URL per line, # comments — the seed's sites.txt)", true),
        format('yaml', 'YAML inventory (url, name, tags, api_key_env)', false),
      ),
      field('File', file, 'Or paste the content below.'),
      field('Content', paste),
      field(
        'Tags to add',
        h('input', { name: 'tags', autocomplete: 'off' }),
        'Optional, comma-separated: added to every imported site.',
      ),
      status,
    ),
    actions: [
      { label: 'Cancel', value: 'cancel' },
      { label: 'Import', value: 'import', submit: true, class: 'primary' },
    ],
    onSubmit: async (form) => {
      const f = form.elements;
      const chosen = file.files?.[0];
      const content = chosen ? await chosen.text() : paste.value;
      if (!content.trim()) throw new Error('Choose a file or paste the list of sites.');
      const body = { format: f.format.value, content };
      if (f.tags.value.trim()) body.tags = splitTags(f.tags.value);
      // Long work says what it is doing (issue 11): a big file takes a few seconds to register.
      const lines = content.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#')).length;
      status.textContent = `Importing ${lines.toLocaleString('en-US')} ${f.format.value === 'seed' ? (lines === 1 ? 'site' : 'sites') : 'lines'}… Each is checked and registered; the new sites then show as Unchecked until verified.`;
      try {
        return await api(ROUTES.importSites, { method: 'POST', body });
      } finally {
        status.textContent = '';
      }
    },
  });
}

export function editSiteDialog(site, versions) {
  const keyChoice = (value, label, checked) =>
    h(
      'label',
      { class: 'inline' },
      h('input', { type: 'radio', name: 'key_mode', value, checked }),
      ' ',
      label,
    );
  const newKey = keyInput('api_key');
  const pinned = h(
    'select',
    { name: 'desired_version' },
    h('option', { value: '', selected: !site.desired_version_id }, 'Follow its tags / the fleet default'),
    versions.map((v) =>
      h('option', { value: v.id, selected: v.id === site.desired_version_id }, `Pin to ${v.id}`),
    ),
  );
  return openDialog({
    title: `Edit ${site.name}`,
    body: h(
      'div',
      { class: 'stack' },
      h('p', { class: 'muted' }, site.url),
      field('Name', h('input', { name: 'name', value: site.name, autocomplete: 'off', required: true })),
      field(
        'Tags',
        h('input', { name: 'tags', value: site.tags.join(', '), autocomplete: 'off' }),
        'Comma-separated.',
      ),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Site API key'),
        keyChoice('keep', site.has_api_key ? 'Keep its own key' : 'Keep using the master key', true),
        keyChoice('set', 'Set a new key for this site', false),
        keyChoice('rotate', 'Rotate: the site gets a new random key of its own, with no gap', false),
        site.has_api_key
          ? keyChoice('clear', 'Remove its own key (use TEMPLATE_MASTER_API_KEY)', false)
          : null,
        field('New API key', newKey, 'At least 16 characters, no spaces. Stored sealed, never shown again.'),
      ),
      field('Key version', pinned),
    ),
    actions: [
      { label: 'Cancel', value: 'cancel' },
      { label: 'Save', value: 'save', submit: true, class: 'primary' },
    ],
    onSubmit: async (form) => {
      const f = form.elements;
      const body = {};
      if (f.name.value.trim() !== site.name) body.name = f.name.value.trim();
      const tags = splitTags(f.tags.value);
      if (tags.join(',') !== site.tags.join(',')) body.tags = tags;
      if (f.key_mode.value === 'set') {
        if (!newKey.value) throw new Error('Type the new API key, or keep the current one.');
        body.api_key = newKey.value;
      } else if (f.key_mode.value === 'clear') body.api_key = null;
      const version = pinned.value || null;
      if (version !== (site.desired_version_id ?? null)) body.desired_version = version;
      const rotate = f.key_mode.value === 'rotate';
      if (Object.keys(body).length === 0 && !rotate) return null;
      let res = Object.keys(body).length
        ? await api(ROUTES.site, { method: 'PATCH', params: { id: site.id }, body })
        : null;
      newKey.value = '';
      // The dashboard rotates with the key that opens the site now, keeps the new one sealed, confirms with it.
      if (rotate)
        res = await api(ROUTES.rotateCredentials, { method: 'POST', params: { id: site.id }, body: {} });
      return res;
    },
  });
}

export function removeSiteDialog(site) {
  return openDialog({
    title: `Remove ${site.name}?`,
    body: h(
      'p',
      {},
      `The dashboard stops managing ${site.url}. The site itself keeps the keys it has. Its past runs stay in the history.`,
    ),
    actions: [
      { label: 'Cancel', value: 'cancel' },
      { label: 'Remove site', value: 'remove', submit: true, class: 'danger' },
    ],
    onSubmit: () => api(ROUTES.site, { method: 'DELETE', params: { id: site.id } }),
  });
}
