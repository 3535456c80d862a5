// Small DOM helpers: no framework, every element built with h().

/** h('a', {href: '#/x', class: 'btn'}, 'text', child) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = value;
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let firstPage = true;

/** Replaces the main area's content; after a navigation, focus moves to the new page's heading
 * (keyboard and screen-reader users start there, not on a link that no longer exists). */
export function show(title, ...content) {
  const main = document.getElementById('main');
  main.replaceChildren(h('h1', { id: 'page-title', tabindex: '-1' }, title), ...content.filter((c) => c !== null && c !== undefined && c !== false));
  document.title = `${title} · audio console`;
  if (!firstPage) document.getElementById('page-title').focus();
  firstPage = false;
}

/** A query string as the API reads it, with the filter brackets left readable: `duration[gte]=60`. */
export function queryString(params) {
  return [...params].map(([k, v]) => `${encodeURIComponent(k).replace(/%5B/g, '[').replace(/%5D/g, ']')}=${encodeURIComponent(v)}`).join('&');
}

/** A problem+json error as a message box. */
export function problemBox(error, extra) {
  const problem = error.problem || { title: 'Error', detail: error.message };
  return h('div', { class: 'problem', role: 'alert' },
    h('strong', {}, problem.title || 'Error', problem.status ? ` (${problem.status})` : ''),
    problem.detail ? h('p', {}, problem.detail) : null,
    extra || null);
}

export function notice(text, kind = 'ok') {
  return h('p', { class: `notice ${kind}`, role: 'status' }, text);
}

export function formatBytes(n) {
  if (n === null || n === undefined) return '';
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0; let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i += 1; }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function formatSeconds(s) {
  if (s === null || s === undefined) return '';
  const total = Math.round(Number(s) * 100) / 100;
  const m = Math.floor(total / 60); const rest = (total - m * 60).toFixed(2).padStart(5, '0');
  return m > 0 ? `${m}:${rest}` : `${total.toFixed(2)} s`;
}

/** A cell's text for any field value. */
export function cellText(value) {
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Parses `#/a/b?x=1` into {parts: ['a','b'], params: URLSearchParams}. */
export function currentRoute() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query || '') };
}

export function link(href, text, attrs = {}) { return h('a', { href, ...attrs }, text); }

/** Navigates to `hash`; the same hash renders the page again (the router listens to hashchange). */
export function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}
