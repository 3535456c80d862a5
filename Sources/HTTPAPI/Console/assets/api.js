// The console's only way to the server: the public API, as any client would call it.
// The key lives in sessionStorage: it is forgotten when the browser tab closes.

const KEY_ITEM = 'audio-console-key';

export function storedKey() { return sessionStorage.getItem(KEY_ITEM); }
export function storeKey(secret) {
  if (secret) sessionStorage.setItem(KEY_ITEM, secret); else sessionStorage.removeItem(KEY_ITEM);
}

/** A problem+json answer (RFC 9457): `problem` holds type, title, detail and errors[]. */
export class ApiError extends Error {
  constructor(response, problem) {
    super(problem.detail || problem.title || `HTTP ${response.status}`);
    this.status = response.status;
    this.problem = problem;
    this.etag = response.headers.get('ETag');
  }
  /** The slug of the problem type (`/problems/stale-version` → `stale-version`). */
  get type() { return (this.problem.type || '').split('/').pop(); }
}

function headers(extra) {
  const h = new Headers(extra || {});
  const key = storedKey();
  if (key) h.set('Authorization', `Bearer ${key}`);
  return h;
}

/** fetch() with the key; resolves to the Response when 2xx/304, throws ApiError otherwise. */
export async function call(method, path, { body, headers: extra } = {}) {
  const h = headers(extra);
  let payload = body;
  if (body !== undefined && !(body instanceof FormData) && !(body instanceof Blob)) {
    h.set('Content-Type', 'application/json');
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers: h, body: payload, cache: 'no-store' });
  if (response.ok || response.status === 304) return response;
  let problem;
  try { problem = await response.json(); } catch { problem = { title: response.statusText, status: response.status }; }
  throw new ApiError(response, problem);
}

/** A JSON route: `{data, etag}` (data null for 204). */
export async function json(method, path, options) {
  const response = await call(method, path, options);
  const data = response.status === 204 ? null : await response.json();
  return { data, etag: response.headers.get('ETag') };
}

export const get = (path) => json('GET', path);

/** What the key in sessionStorage may do: GET /api/key, cached until the key changes. */
let who = null;
export async function whoami(refresh = false) {
  if (who && !refresh) return who;
  const { data } = await get('/api/key');
  who = new Access(data.key);
  return who;
}
export function forgetWho() { who = null; }

/** A key's scopes, read the way the server reads them (docs/security.md). */
export class Access {
  constructor(key) {
    this.key = key;
    this.scopes = new Set(key ? key.scopes : []);
  }
  get signedIn() { return this.key !== null; }
  get admin() { return this.scopes.has('admin'); }
  /** `action` is read, write, upload or delete. */
  can(action, kind) {
    return this.admin || this.scopes.has(`${action}:${kind}`) || this.scopes.has(`${action}:*`);
  }
  /** Reads: anyone when the kind's `read` is public. */
  canRead(kind) { return kind.access.read === 'public' || this.can('read', kind.name); }
  /** Playing the file: public downloads, or a key with read (a signed link for `signed`). */
  canPlay(kind) { return kind.access.download === 'public' || this.can('read', kind.name); }
}

/** The kinds with every field and constraint (GET /api/kinds), cached per page load. */
let kinds = null;
export async function allKinds(refresh = false) {
  if (!kinds || refresh) kinds = (await get('/api/kinds')).data.kinds;
  return kinds;
}
export async function kindNamed(name) {
  const list = await allKinds();
  return list.find((k) => k.name === name || k.aliases.includes(name)) || null;
}

/**
 * PUT of a file with upload progress (fetch cannot report it; XMLHttpRequest can).
 * Returns {promise, abort}; onProgress(loaded, total) as bytes leave the browser.
 */
export function upload(path, file, { onProgress, ifMatch } = {}) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open('PUT', path);
    const key = storedKey();
    if (key) xhr.setRequestHeader('Authorization', `Bearer ${key}`);
    if (ifMatch) xhr.setRequestHeader('If-Match', ifMatch);
    xhr.upload.onprogress = (event) => { if (onProgress) onProgress(event.loaded, event.lengthComputable ? event.total : file.size); };
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { body = { title: xhr.statusText, status: xhr.status }; }
      if (xhr.status >= 200 && xhr.status < 300) resolve({ data: body, etag: xhr.getResponseHeader('ETag') });
      else {
        const error = new ApiError({ status: xhr.status, headers: { get: (n) => xhr.getResponseHeader(n) } }, body);
        reject(error);
      }
    };
    xhr.onerror = () => reject(new Error('The upload failed: the connection was lost.'));
    xhr.onabort = () => reject(Object.assign(new Error('Upload cancelled.'), { cancelled: true }));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}
