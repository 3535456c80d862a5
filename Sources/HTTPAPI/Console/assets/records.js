// A kind's records: the table's columns are the kind's fields; filters, sort and count are the
// API's own query language, kept in the page URL (#/kinds/song/records?duration[gte]=60&sort=-duration),
// so the URL of a view is the API query that produced it.
import { get, kindNamed } from './api.js';
import { cellText, formatSeconds, go, h, problemBox, queryString, show } from './ui.js';

const PAGE = 20;

/** The filter inputs a field gets, as [param, label, input attributes]. */
function filterInputs(field) {
  const n = field.name;
  switch (field.type) {
    case 'string': case 'text': return [[`${n}[contains]`, `${n} contains`, { type: 'search' }]];
    case 'integer': return [[`${n}[gte]`, `${n} from`, { type: 'number', step: '1' }], [`${n}[lte]`, `${n} to`, { type: 'number', step: '1' }]];
    case 'number': return [[`${n}[gte]`, `${n} from`, { type: 'number', step: 'any' }], [`${n}[lte]`, `${n} to`, { type: 'number', step: 'any' }]];
    case 'date': return [[`${n}[gte]`, `${n} from`, { type: 'date' }], [`${n}[lte]`, `${n} to`, { type: 'date' }]];
    case 'datetime': return [[`${n}[gte]`, `${n} from (UTC)`, { type: 'datetime-local', step: '1' }], [`${n}[lte]`, `${n} to (UTC)`, { type: 'datetime-local', step: '1' }]];
    case 'enum': return [[n, n, { select: ['', ...field.values] }]];
    case 'boolean': return [[n, n, { select: ['', 'true', 'false'] }]];
    case 'list': return [[`${n}[has]`, `${n} has`, { type: 'search' }]];
    default: return [];
  }
}

function inputFor(param, label, attrs, value) {
  const id = `filter-${param.replace('[', '-').replace(']', '')}`;
  let input;
  if (attrs.select) {
    input = h('select', { id, name: param }, attrs.select.map((v) => h('option', { value: v, selected: v === value }, v === '' ? 'any' : v)));
  } else {
    // datetime filters are sent as UTC (Z); the input shows them without the zone.
    const shown = attrs.type === 'datetime-local' && value ? value.replace(/Z$/, '') : value;
    input = h('input', { id, name: param, ...attrs, value: shown || '' });
  }
  return h('div', { class: 'field' }, h('label', { for: id }, label), attrs.type === 'number' ? h('div', {}, input) : input);
}

function sortable(field) { return field.type !== 'list'; }

export async function recordsPage(access, name, params) {
  const kind = await kindNamed(name);
  if (!kind) { show('Unknown kind', h('p', {}, `No kind is called ${name}.`)); return; }
  if (!access.canRead(kind)) {
    show(`${kind.name} records`, h('p', {}, `Reading ${kind.name} needs a key with read:${kind.name}. `, h('a', { href: '#/signin' }, 'Sign in')));
    return;
  }
  const base = `#/kinds/${kind.name}/records`;
  const navigate = (p) => { const q = queryString(p); go(q ? `${base}?${q}` : base); };

  // Filters: one input per operator the field's type has.
  const inputs = [];
  for (const field of kind.fields) for (const [param, label, attrs] of filterInputs(field)) inputs.push(inputFor(param, label, attrs, params.get(param)));
  inputs.push(inputFor('has_file', 'has file', { select: ['', 'true', 'false'] }, params.get('has_file')));
  const form = h('form', {
    id: 'filters',
    onsubmit: (event) => {
      event.preventDefault();
      const next = new URLSearchParams();
      for (const el of form.elements) {
        if (!el.name || el.value === '') continue;
        const value = el.type === 'datetime-local' ? `${el.value.length === 16 ? `${el.value}:00` : el.value}Z` : el.value;
        next.append(el.name, value);
      }
      if (params.get('sort')) next.set('sort', params.get('sort'));
      navigate(next);
    },
  },
  h('fieldset', {}, h('legend', {}, 'Filters'), h('div', { class: 'filters' }, inputs)),
  h('p', { class: 'row' },
    h('button', { type: 'submit', id: 'apply-filters' }, 'Apply filters'),
    h('button', { type: 'button', class: 'secondary', onclick: () => navigate(new URLSearchParams(params.get('sort') ? { sort: params.get('sort') } : {})) }, 'Clear')));

  // The columns, sortable ones as buttons that set `sort` (again: reverse).
  const sortKeys = (params.get('sort') || '').split(',').filter(Boolean);
  const first = sortKeys[0] || '';
  const columns = [{ name: 'id', type: 'integer' }, ...kind.fields];
  const head = h('tr', {}, columns.map((f) => {
    if (!sortable(f)) return h('th', { scope: 'col' }, f.name);
    const state = first === f.name ? 'ascending' : first === `-${f.name}` ? 'descending' : null;
    return h('th', { scope: 'col', 'aria-sort': state || 'none' },
      h('button', {
        type: 'button', class: 'sort', dataset: { sort: f.name },
        'aria-label': `Sort by ${f.name}${state === 'ascending' ? ', descending' : ''}`,
        onclick: () => { const p = new URLSearchParams(params); p.set('sort', state === 'ascending' ? `-${f.name}` : f.name); p.delete('count'); navigate(p); },
      }, f.name));
  }), h('th', { scope: 'col' }, 'file'));
  const body = h('tbody', {});
  const table = h('table', { id: 'records' }, h('caption', { class: 'visually-hidden' }, `${kind.name} records`), h('thead', {}, head), body);
  const status = h('div', { id: 'list-status', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', id: 'load-more', class: 'secondary', hidden: true }, 'Load more');
  const countButton = h('button', {
    type: 'button', id: 'count', class: 'secondary',
    onclick: () => { const p = new URLSearchParams(params); p.set('count', 'exact'); navigate(p); },
  }, 'Count matching records');

  const flash = sessionStorage.getItem('audio-console-flash');
  sessionStorage.removeItem('audio-console-flash');
  show(`${kind.name} records`,
    flash ? h('p', { class: 'notice', role: 'status', id: 'flash' }, flash) : null,
    h('p', { class: 'row' },
      h('a', { href: `#/kinds/${kind.name}` }, 'Fields'),
      access.can('write', kind.name) ? h('a', { class: 'button', href: `#/kinds/${kind.name}/new`, id: 'new-record' }, `New ${kind.name}`) : null),
    form,
    h('p', { class: 'row' }, countButton, h('span', { id: 'total' })),
    h('div', { class: 'table-wrap' }, table), status, more);

  const query = new URLSearchParams(params);
  if (!query.get('limit')) query.set('limit', String(PAGE));
  let loaded = 0;
  async function load(cursor) {
    const q = new URLSearchParams(query);
    if (cursor) { q.set('cursor', cursor); q.delete('count'); }
    more.disabled = true;
    try {
      const { data } = await get(`/api/audio/${kind.name}?${queryString(q)}`);
      for (const record of data.items) {
        body.append(h('tr', { dataset: { id: record.id } },
          columns.map((f) => (f.name === 'id'
            ? h('td', {}, h('a', { href: `#/kinds/${kind.name}/records/${record.id}` }, String(record.id)))
            : h('td', { dataset: { field: f.name } }, cellText(record[f.name])))),
          h('td', {}, record.file ? `${record.file.format}, ${formatSeconds(record.file.duration_seconds)}` : '—')));
      }
      loaded += data.items.length;
      if (data.total !== undefined) document.getElementById('total').textContent = `${data.total} matching`;
      status.textContent = loaded === 0 ? 'No records match.' : `${loaded} shown${data.next_cursor ? '' : ' (all)'}.`;
      more.hidden = !data.next_cursor;
      more.disabled = false;
      more.onclick = () => load(data.next_cursor);
    } catch (error) {
      status.replaceChildren(problemBox(error));
      // A problem naming a filter: mark its input.
      for (const issue of error.problem?.errors || []) {
        const el = form.elements.namedItem(issue.field) || [...form.elements].find((e) => e.name && e.name.startsWith(`${issue.field}[`));
        if (el && el.setAttribute) { el.setAttribute('aria-invalid', 'true'); el.title = issue.message; }
      }
    }
  }
  await load(null);
}
