/**
 * Pagination for the long tables (5,000+ sites): only one page of rows is ever in the DOM. The
 * controls are plain buttons (keyboard reachable, disabled at the ends) and say which rows show.
 * Rows held in the page: `slice`; rows the server pages: ask for `window()`, then `setTotal(total)`.
 *
 * @example const pager = createPager({ label: 'Runs', onChange: render });
 *          tbody.replaceChildren(...pager.slice(filtered).map(row)); // after pager.setTotal(filtered.length)
 * @example const { limit, offset } = pager.window(); // GET /api/admin/sites?limit=…&offset=…
 */
import { h, replace } from './dom.js';
import { num } from './format.js';

export function createPager({ label, onChange, pageSize = 50, sizes = [25, 50, 100, 200] }) {
  let page = 0;
  let size = pageSize;
  let total = 0;
  const pages = () => Math.max(1, Math.ceil(total / size));
  const go = (p) => {
    const next = Math.min(Math.max(0, p), pages() - 1);
    if (next === page) return;
    page = next;
    onChange();
  };

  const info = h('span', { class: 'pager-info', 'aria-live': 'polite' });
  const pageInfo = h('span', { class: 'pager-page' });
  const first = h('button', { type: 'button', class: 'ghost', onclick: () => go(0) }, '« First');
  const prev = h('button', { type: 'button', class: 'ghost', onclick: () => go(page - 1) }, '‹ Previous');
  const next = h('button', { type: 'button', class: 'ghost', onclick: () => go(page + 1) }, 'Next ›');
  const last = h('button', { type: 'button', class: 'ghost', onclick: () => go(pages() - 1) }, 'Last »');
  const sizeSelect = h(
    'select',
    {
      'aria-label': 'Rows per page',
      onchange: () => {
        const firstRow = page * size;
        size = Number(sizeSelect.value);
        page = Math.floor(firstRow / size);
        onChange();
      },
    },
    sizes.map((s) => h('option', { value: s, selected: s === size }, `${s} per page`)),
  );
  const el = h(
    'nav',
    { class: 'pager', 'aria-label': `${label} pages` },
    info,
    h('span', { class: 'pager-buttons' }, first, prev, pageInfo, next, last),
    sizeSelect,
  );
  // The same controls above the table (issue 11: a 50-row page is 3,400 px tall): a second, compact
  // set of buttons that page the same state; the full pager (page size, live count) stays below.
  const topInfo = h('span', { class: 'pager-top-page' });
  const topPrev = h('button', { type: 'button', class: 'ghost', 'aria-label': 'Previous page (top)', onclick: () => go(page - 1) }, '‹');
  const topNext = h('button', { type: 'button', class: 'ghost', 'aria-label': 'Next page (top)', onclick: () => go(page + 1) }, '›');
  const top = h(
    'nav',
    { class: 'pager pager-top', 'aria-label': `${label}: paging above the list` },
    h('span', { class: 'pager-buttons' }, topPrev, topInfo, topNext),
  );

  function update() {
    const focused = document.activeElement;
    const from = total === 0 ? 0 : page * size + 1;
    const to = Math.min(total, (page + 1) * size);
    replace(
      info,
      total === 0 ? `No ${label.toLowerCase()}` : `Showing ${num(from)}–${num(to)} of ${num(total)}`,
    );
    replace(pageInfo, `Page ${num(page + 1)} of ${num(pages())}`);
    replace(topInfo, `Page ${num(page + 1)} of ${num(pages())}`);
    first.disabled = prev.disabled = topPrev.disabled = page === 0;
    next.disabled = last.disabled = topNext.disabled = page >= pages() - 1;
    top.hidden = pages() <= 1;
    // A button that just got disabled under the keyboard would drop focus to <body>.
    if (focused instanceof HTMLButtonElement && focused.disabled && el.contains(focused))
      (focused === next || focused === last ? prev : next).focus();
    if (focused instanceof HTMLButtonElement && focused.disabled && top.contains(focused))
      (focused === topNext ? topPrev : topNext).focus();
  }

  return {
    el,
    /** The compact copy for above the table (hidden when there is one page). */
    top,
    /** Sets the row count (after filtering); keeps the page when it still exists. */
    setTotal(n) {
      total = n;
      page = Math.min(page, pages() - 1);
      update();
    },
    reset() {
      page = 0;
    },
    slice(items) {
      return items.slice(page * size, (page + 1) * size);
    },
    /** The rows of the current page, for a server that pages: `limit` rows from `offset`. */
    window() {
      return { limit: size, offset: page * size };
    },
  };
}
