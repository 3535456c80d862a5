// Admin pages: API keys (create, list, revoke) and the audit trail. Both need the admin scope.
import { allKinds, call, get, json } from './api.js';
import { cellText, go, h, notice, problemBox, queryString, show } from './ui.js';

function needsAdmin(title) {
  show(title, h('p', {}, 'This page needs a key with the admin scope. ', h('a', { href: '#/signin' }, 'Sign in')));
}

export async function keysPage(access) {
  if (!access.admin) { needsAdmin('Keys'); return; }
  const kinds = await allKinds();
  const list = h('tbody', {});
  const created = h('div', { id: 'key-created', 'aria-live': 'polite' });
  const status = h('div', { 'aria-live': 'polite' });

  async function load() {
    const { data } = await get('/api/keys');
    list.replaceChildren(...data.items.map((key) => {
      const revoke = h('button', { type: 'button', class: 'danger', dataset: { revoke: key.name }, disabled: key.revoked }, key.revoked ? 'Revoked' : 'Revoke');
      revoke.addEventListener('click', async () => {
        if (revoke.dataset.armed !== 'yes') { revoke.dataset.armed = 'yes'; revoke.textContent = `Confirm: revoke ${key.name}`; return; }
        try { await call('DELETE', `/api/keys/${key.id}`); status.replaceChildren(notice(`Revoked ${key.name}; it stops working at once.`)); await load(); } catch (error) { status.replaceChildren(problemBox(error)); }
      });
      return h('tr', { dataset: { key: key.name } },
        h('td', {}, String(key.id)), h('td', {}, key.name), h('td', {}, key.scopes.join(', ')), h('td', {}, key.created_at),
        h('td', {}, key.expires_at || 'never'), h('td', {}, key.last_used_at || '—'), h('td', {}, key.id === access.key.id ? h('span', { class: 'badge' }, 'this key') : revoke));
    }));
  }

  const name = h('input', { id: 'key-name', name: 'name', required: true, maxlength: 100, autocomplete: 'off' });
  const scopes = h('input', { id: 'key-scopes', name: 'scopes', required: true, list: 'scope-suggestions', autocomplete: 'off', 'aria-describedby': 'key-scopes-hint' });
  const suggestions = h('datalist', { id: 'scope-suggestions' }, ['admin', 'read:*', 'write:*', 'upload:*', 'delete:*', ...kinds.flatMap((k) => ['read', 'write', 'upload', 'delete'].map((a) => `${a}:${k.name}`))].map((s) => h('option', { value: s })));
  const expires = h('input', { id: 'key-expires', name: 'expires_at', type: 'datetime-local', step: '1' });
  const form = h('form', {
    id: 'key-form',
    onsubmit: async (event) => {
      event.preventDefault();
      created.replaceChildren();
      const body = { name: name.value.trim(), scopes: scopes.value.split(/[\s,]+/).filter(Boolean) };
      if (expires.value) body.expires_at = `${expires.value.length === 16 ? `${expires.value}:00` : expires.value}Z`;
      try {
        const { data } = await json('POST', '/api/keys', { body });
        const secret = h('code', { class: 'secret', id: 'key-secret' }, data.secret);
        const copied = h('span', { 'aria-live': 'polite' });
        created.replaceChildren(h('div', { class: 'notice' },
          h('p', {}, h('strong', {}, `Key ${data.name} created. `), 'Copy its secret now: it is shown only this once and cannot be read again.'),
          secret,
          h('p', { class: 'row' }, h('button', {
            type: 'button', id: 'copy-secret',
            onclick: async () => {
              try { await navigator.clipboard.writeText(data.secret); copied.textContent = 'Copied.'; } catch {
                const range = document.createRange(); range.selectNodeContents(secret);
                getSelection().removeAllRanges(); getSelection().addRange(range); copied.textContent = 'Selected: press Ctrl+C to copy.';
              }
            },
          }, 'Copy secret'), copied)));
        form.reset();
        await load();
      } catch (error) {
        created.replaceChildren(problemBox(error, error.problem?.errors ? h('ul', {}, error.problem.errors.map((i) => h('li', {}, i.message))) : null));
      }
    },
  },
  h('fieldset', {}, h('legend', {}, 'New key'),
    h('div', { class: 'field' }, h('label', { for: 'key-name' }, 'Name'), name),
    h('div', { class: 'field' }, h('label', { for: 'key-scopes' }, 'Scopes'), scopes, suggestions,
      h('p', { class: 'hint', id: 'key-scopes-hint' }, 'Separated by spaces or commas: admin, read:KIND, write:KIND, upload:KIND, delete:KIND, or ACTION:* for every kind.')),
    h('div', { class: 'field' }, h('label', { for: 'key-expires' }, 'Expires (UTC, optional)'), expires),
    h('button', { type: 'submit', id: 'create-key' }, 'Create key')));

  show('Keys', form, created, h('h2', {}, 'All keys'), status,
    h('div', { class: 'table-wrap' }, h('table', { id: 'keys' },
      h('thead', {}, h('tr', {}, ['id', 'name', 'scopes', 'created', 'expires', 'last used', ''].map((c) => h('th', { scope: 'col' }, c)))), list)));
  await load();
}

const ACTIONS = ['create', 'update', 'delete', 'upload', 'key_create', 'key_revoke', 'lockout'];

export async function auditPage(access, params) {
  if (!access.admin) { needsAdmin('Audit trail'); return; }
  const kinds = await allKinds();
  const select = (id, param, label, options) => h('div', { class: 'field' }, h('label', { for: id }, label),
    h('select', { id, name: param }, h('option', { value: '' }, 'any'), options.map((o) => h('option', { value: o, selected: params.get(param) === o }, o))));
  const number = (id, param, label) => h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name: param, type: 'number', min: 1, step: 1, value: params.get(param) || '' }));
  const form = h('form', {
    id: 'audit-filters',
    onsubmit: (event) => {
      event.preventDefault();
      const next = new URLSearchParams();
      for (const el of form.elements) if (el.name && el.value) next.set(el.name, el.value);
      go(`#/audit${next.toString() ? `?${queryString(next)}` : ''}`);
    },
  }, h('fieldset', {}, h('legend', {}, 'Filters'), h('div', { class: 'filters' },
    select('audit-kind', 'kind', 'Kind', kinds.map((k) => k.name)), select('audit-action', 'action', 'Action', ACTIONS),
    number('audit-record', 'record_id', 'Record id'), number('audit-key', 'key_id', 'Key id'))),
  h('p', { class: 'row' }, h('button', { type: 'submit' }, 'Apply filters'), h('a', { href: '#/audit' }, 'Clear')));
  const body = h('tbody', {});
  const status = h('div', { 'aria-live': 'polite' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true, id: 'audit-more' }, 'Load more');
  show('Audit trail', h('p', {}, 'Who changed what, newest first. Every create, update, upload, delete and key change is here.'), form,
    h('div', { class: 'table-wrap' }, h('table', { id: 'audit' },
      h('thead', {}, h('tr', {}, ['at', 'key', 'action', 'kind', 'record', 'request id', 'client'].map((c) => h('th', { scope: 'col' }, c)))), body)),
    status, more);
  async function load(cursor) {
    const q = new URLSearchParams(params);
    q.set('limit', '50');
    if (cursor) q.set('cursor', cursor);
    try {
      const { data } = await get(`/api/audit?${q}`);
      for (const row of data.items) {
        const record = row.kind && row.record_id && !row.action.startsWith('key_') && row.action !== 'delete'
          ? h('a', { href: `#/kinds/${row.kind}/records/${row.record_id}` }, String(row.record_id)) : cellText(row.record_id);
        body.append(h('tr', {}, h('td', {}, row.at), h('td', {}, row.key_name ?? '—'), h('td', {}, row.action), h('td', {}, cellText(row.kind)),
          h('td', {}, record), h('td', {}, h('code', {}, row.request_id ?? '')), h('td', {}, cellText(row.client))));
      }
      status.textContent = body.children.length === 0 ? 'No entries match.' : `${body.children.length} entr${body.children.length === 1 ? 'y' : 'ies'} shown.`;
      more.hidden = !data.next_cursor;
      more.onclick = () => load(data.next_cursor);
    } catch (error) { status.replaceChildren(problemBox(error)); }
  }
  await load(null);
}
