// One record: a form generated from the kind (an input per field type, HTML constraints from the
// YAML's rules), the server's errors[] beside the fields they name, If-Match on every edit with a
// conflict view on 412, the file (upload with progress, probe results, player, download), delete.
import { ApiError, call, get, json, kindNamed, upload } from './api.js';
import { constraintsText, typeText } from './kinds.js';
import { cellText, formatBytes, formatSeconds, go, h, notice, problemBox, show } from './ui.js';

/** The JavaScript regular expression an HTML `pattern` needs, or null when it has none. */
function htmlPattern(pattern) {
  if (!pattern) return null;
  // HTML anchors the pattern at both ends; the server searches (docs/kinds.md), so allow text around it.
  const wrapped = pattern.startsWith('^') && pattern.endsWith('$') ? pattern : `[\\s\\S]*(?:${pattern})[\\s\\S]*`;
  try { new RegExp(wrapped, 'v'); return wrapped; } catch { return null; }
}

/** Attributes of an input for a scalar type and its rules (maxlength, min, max, pattern…). */
function scalarAttributes(type, rules) {
  const a = {};
  switch (type) {
    case 'string': case 'text':
      a.type = 'text';
      if (rules.max_length !== undefined) a.maxlength = rules.max_length;
      if (rules.min_length !== undefined) a.minlength = rules.min_length;
      a.pattern = htmlPattern(rules.pattern);
      break;
    case 'integer': a.type = 'number'; a.step = '1'; break;
    case 'number': a.type = 'number'; a.step = 'any'; break;
    case 'date': a.type = 'date'; if (rules.not_in_past) a.min = new Date().toISOString().slice(0, 10); break;
    case 'datetime': a.type = 'datetime-local'; a.step = '1'; break;
    default: a.type = 'text';
  }
  if (type === 'integer' || type === 'number') {
    if (rules.min !== undefined && Number.isFinite(rules.min)) a.min = rules.min;
    if (rules.max !== undefined && Number.isFinite(rules.max)) a.max = rules.max;
  }
  return a;
}

/** One value's input: select for enum/boolean, textarea for text, input otherwise. */
function valueInput(type, rules, value, attrs) {
  if (type === 'enum' || type === 'boolean') {
    const options = type === 'enum' ? rules.values : ['true', 'false'];
    const current = value === null || value === undefined ? '' : String(value);
    return h('select', attrs, h('option', { value: '' }, '(not set)'), options.map((v) => h('option', { value: v, selected: v === current }, type === 'boolean' ? (v === 'true' ? 'yes' : 'no') : v)));
  }
  const a = { ...scalarAttributes(type, rules), ...attrs };
  let shown = value === null || value === undefined ? '' : String(value);
  if (type === 'datetime' && shown) shown = shown.replace(/(\.\d+)?Z$/, '').slice(0, 19);
  if (type === 'text') { delete a.type; delete a.pattern; return h('textarea', { ...a, rows: 3 }, shown); }
  return h('input', { ...a, value: shown });
}

/** The JSON value of one input, or undefined when empty. */
function readValue(type, el) {
  const v = el.value;
  if (v === '') return undefined;
  switch (type) {
    case 'integer': return Number.isSafeInteger(Number(v)) ? Number(v) : v;
    case 'number': return Number(v);
    case 'boolean': return v === 'true';
    case 'datetime': return `${v.length === 16 ? `${v}:00` : v}Z`;
    default: return v;
  }
}

/** A form for `kind`: {element, values(), showErrors(errors), clearErrors()}. */
function recordForm(kind, record) {
  const parts = [];
  const readers = {};
  for (const field of kind.fields) {
    const id = `field-${field.name}`;
    const hint = h('p', { class: 'hint', id: `${id}-hint` }, `${typeText(field)}${constraintsText(field) ? ` · ${constraintsText(field)}` : ''}${field.description ? ` · ${field.description}` : ''}`);
    const error = h('p', { class: 'error', id: `${id}-error`, hidden: true });
    if (field.type === 'list') {
      const itemType = field.items.type;
      const items = h('ul', { class: 'list-items', id: `${id}-items` });
      const counter = h('span', { class: 'hint', 'aria-live': 'polite' });
      const renumber = () => {
        [...items.children].forEach((li, i) => {
          li.dataset.index = String(i);
          const input = li.querySelector('input, select');
          input.id = `${id}-${i}`;
          input.setAttribute('aria-label', `${field.name} item ${i + 1}`);
          li.querySelector('button').setAttribute('aria-label', `Remove ${field.name} item ${i + 1}`);
        });
        const n = items.children.length;
        counter.textContent = `${n} item${n === 1 ? '' : 's'}${field.max_items !== undefined ? ` (at most ${field.max_items})` : ''}`;
      };
      const addItem = (value, focus) => {
        const input = valueInput(itemType, field.items, value, { required: true });
        const li = h('li', { class: 'list-item' }, input,
          h('button', { type: 'button', class: 'secondary', onclick: () => { li.remove(); renumber(); } }, 'Remove'),
          h('p', { class: 'item-error', hidden: true }));
        items.append(li);
        renumber();
        if (focus) input.focus();
      };
      for (const v of (record ? record[field.name] : field.default) || []) addItem(v, false);
      renumber();
      parts.push(h('fieldset', { class: 'field', dataset: { field: field.name }, id, 'aria-describedby': `${id}-hint ${id}-error` },
        h('legend', {}, field.name, field.required ? ' (required)' : ''),
        items,
        h('p', { class: 'row' }, h('button', { type: 'button', class: 'secondary', id: `${id}-add`, onclick: () => addItem('', true) }, `Add ${field.name} item`), counter),
        hint, error));
      readers[field.name] = () => [...items.querySelectorAll('input, select')].map((el) => readValue(itemType, el) ?? '');
    } else {
      const rules = field;
      const value = record ? record[field.name] : (field.default ?? null);
      const input = valueInput(field.type, rules, value, { id, name: field.name, required: field.required, 'aria-describedby': `${id}-hint ${id}-error` });
      parts.push(h('div', { class: 'field', dataset: { field: field.name } },
        h('label', { for: id }, field.name, field.required ? ' (required)' : ''), input, hint, error));
      readers[field.name] = () => readValue(field.type, input);
    }
  }
  const element = h('div', {}, parts);

  function clearErrors() {
    for (const el of element.querySelectorAll('.has-error')) el.classList.remove('has-error');
    for (const el of element.querySelectorAll('.error, .item-error')) { el.hidden = true; el.textContent = ''; }
    for (const el of element.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  }

  /** Puts each issue beside its field or list item; returns the issues no field took. */
  function showErrors(errors) {
    const left = [];
    let firstBad = null;
    const markItem = (fieldEl, index, message) => {
      const li = fieldEl.querySelectorAll('.list-item')[index];
      if (!li) return false;
      li.classList.add('has-error');
      const p = li.querySelector('.item-error');
      p.hidden = false; p.textContent = p.textContent ? `${p.textContent} ${message}` : message;
      const input = li.querySelector('input, select');
      input.setAttribute('aria-invalid', 'true');
      firstBad = firstBad || input;
      return true;
    };
    for (const issue of errors) {
      const m = /^([a-z][a-z0-9_]*)(?:\[(\d+)\])?$/.exec(issue.field || '');
      const fieldEl = m && element.querySelector(`[data-field="${m[1]}"]`);
      if (!fieldEl) { left.push(issue); continue; }
      fieldEl.classList.add('has-error');
      if (m[2] !== undefined && markItem(fieldEl, Number(m[2]), issue.message)) continue;
      const p = fieldEl.querySelector(':scope > .error');
      p.hidden = false; p.textContent = p.textContent ? `${p.textContent} ${issue.message}` : issue.message;
      if (fieldEl.tagName !== 'FIELDSET') {
        const input = fieldEl.querySelector('input, select, textarea');
        input.setAttribute('aria-invalid', 'true');
        firstBad = firstBad || input;
      }
      // Too many items: say so beside each item past the limit (the eleventh of at most ten).
      if (issue.code === 'max_items') {
        const field = kind.fields.find((f) => f.name === m[1]);
        const items = fieldEl.querySelectorAll('.list-item');
        for (let i = field.max_items; i < items.length; i += 1) markItem(fieldEl, i, `Item ${i + 1} is over the limit of ${field.max_items} items: remove it.`);
      }
    }
    if (!firstBad) firstBad = element.querySelector('.has-error button, .has-error input, .has-error select');
    if (firstBad) firstBad.focus();
    return left;
  }

  /** The values to send: on create the filled fields; on edit the changed ones (null clears). */
  function values(changedOnly) {
    const out = {};
    for (const field of kind.fields) {
      const v = readers[field.name]();
      if (!changedOnly) { if (v !== undefined && !(Array.isArray(v) && v.length === 0 && !field.required)) out[field.name] = v; continue; }
      const now = v === undefined ? null : v;
      const before = record[field.name] ?? null;
      if (JSON.stringify(comparable(field, now)) === JSON.stringify(comparable(field, before))) continue;
      out[field.name] = now;
    }
    return out;
  }
  return { element, values, showErrors, clearErrors };
}

/** A value as an edit compares it: date-times (shown to the second, stored to the microsecond) as
 * whole seconds since 1970, so an untouched one does not count as a change. */
function comparable(field, value) {
  const type = field.type === 'list' ? field.items.type : field.type;
  const one = (v) => (type === 'datetime' && typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? Math.floor(Date.parse(v) / 1000) : v ?? null);
  return Array.isArray(value) ? value.map(one) : one(value);
}

function label(kind, record) {
  const first = kind.fields.find((f) => (f.type === 'string' || f.type === 'text') && record[f.name]);
  return `${kind.name} ${record.id}${first ? ` “${record[first.name]}”` : ''}`;
}

export async function newRecordPage(access, name) {
  const kind = await kindNamed(name);
  if (!kind) { show('Unknown kind', h('p', {}, `No kind is called ${name}.`)); return; }
  if (!access.can('write', kind.name)) {
    show(`New ${kind.name}`, h('p', {}, `Creating a ${kind.name} needs a key with write:${kind.name}. `, h('a', { href: '#/signin' }, 'Sign in')));
    return;
  }
  const form = recordForm(kind, null);
  const status = h('div', { id: 'form-status', 'aria-live': 'polite' });
  const el = h('form', {
    id: 'record-form',
    onsubmit: async (event) => {
      event.preventDefault();
      form.clearErrors();
      status.replaceChildren();
      try {
        const { data } = await json('POST', '/api/audio/create', { body: { filetype: kind.name, ...form.values(false) } });
        sessionStorage.setItem('audio-console-flash', `Created ${label(kind, data)}.`);
        go(`#/kinds/${kind.name}/records/${data.id}`);
      } catch (error) {
        const left = form.showErrors(error.problem?.errors || []);
        status.replaceChildren(problemBox(error, left.length ? h('ul', {}, left.map((i) => h('li', {}, i.message))) : null));
      }
    },
  }, form.element, h('p', { class: 'row' }, h('button', { type: 'submit', id: 'save' }, `Create ${kind.name}`), h('a', { href: `#/kinds/${kind.name}/records` }, 'Cancel')), status);
  show(`New ${kind.name}`, h('p', { class: 'hint' }, 'The browser checks each field as you type; the server checks everything again and its messages appear beside the fields.'), el);
}

export async function recordPage(access, name, idText) {
  const kind = await kindNamed(name);
  if (!kind) { show('Unknown kind', h('p', {}, `No kind is called ${name}.`)); return; }
  let loaded;
  try {
    loaded = await get(`/api/audio/${kind.name}/${encodeURIComponent(idText)}`);
  } catch (error) {
    show(`${kind.name} ${idText}`, problemBox(error), h('p', {}, h('a', { href: `#/kinds/${kind.name}/records` }, `All ${kind.name} records`)));
    return;
  }
  let record = loaded.data;
  let etag = loaded.etag;
  const flash = sessionStorage.getItem('audio-console-flash');
  sessionStorage.removeItem('audio-console-flash');

  const canWrite = access.can('write', kind.name);
  const form = recordForm(kind, record);
  const status = h('div', { id: 'form-status', 'aria-live': 'polite' });
  const version = h('p', { class: 'meta', id: 'version' });
  const showVersion = () => { version.textContent = `Version ${etag} · created ${record.created_at} · updated ${record.updated_at}`; };
  showVersion();

  async function save(ifMatch) {
    form.clearErrors();
    status.replaceChildren();
    const changes = form.values(true);
    if (Object.keys(changes).length === 0) { status.replaceChildren(notice('Nothing changed.', 'warn')); return; }
    try {
      const result = await json('PATCH', `/api/audio/${kind.name}/${record.id}`, { body: changes, headers: { 'If-Match': ifMatch } });
      sessionStorage.setItem('audio-console-flash', `Saved ${label(kind, result.data)}.`);
      go(`#/kinds/${kind.name}/records/${record.id}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) { await conflict(changes); return; }
      const left = form.showErrors(error.problem?.errors || []);
      status.replaceChildren(problemBox(error, left.length ? h('ul', {}, left.map((i) => h('li', {}, i.message))) : null));
    }
  }

  /** 412: someone changed the record since it was loaded. Show what, offer reload or overwrite. */
  async function conflict(changes) {
    const current = await get(`/api/audio/${kind.name}/${record.id}`);
    const rows = kind.fields.filter((f) => JSON.stringify(current.data[f.name]) !== JSON.stringify(record[f.name]) || f.name in changes)
      .map((f) => h('tr', {}, h('th', { scope: 'row' }, f.name), h('td', {}, cellText(current.data[f.name])),
        h('td', {}, f.name in changes ? cellText(changes[f.name]) : '(unchanged)')));
    status.replaceChildren(h('div', { class: 'problem', role: 'alert', id: 'conflict' },
      h('strong', {}, 'This record changed since you opened it (412 stale version)'),
      h('p', {}, `It was updated at ${current.data.updated_at}. Your changes were not saved.`),
      h('div', { class: 'table-wrap' }, h('table', { class: 'diff' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'field'), h('th', { scope: 'col' }, 'now on the server'), h('th', { scope: 'col' }, 'your change'))),
        h('tbody', {}, rows))),
      h('p', { class: 'row' },
        h('button', { type: 'button', id: 'conflict-reload', class: 'secondary', onclick: () => go(`#/kinds/${kind.name}/records/${record.id}`) }, 'Reload (discard my changes)'),
        h('button', {
          type: 'button', id: 'conflict-overwrite',
          onclick: async () => {
            record = current.data; etag = current.etag;
            try {
              // The notice names the record as saved (with the new name), not as it was before.
              const { data: saved } = await json('PATCH', `/api/audio/${kind.name}/${record.id}`, { body: changes, headers: { 'If-Match': etag } });
              sessionStorage.setItem('audio-console-flash', `Saved ${label(kind, saved)} over the other change.`);
              go(`#/kinds/${kind.name}/records/${record.id}`);
            } catch (error) { status.replaceChildren(problemBox(error)); }
          },
        }, 'Overwrite with my changes'))));
    document.getElementById('conflict-reload').focus();
  }

  const editForm = h('form', { id: 'record-form', onsubmit: (event) => { event.preventDefault(); save(etag); } },
    h('fieldset', { disabled: !canWrite }, h('legend', {}, canWrite ? 'Fields' : `Fields (changing them needs write:${kind.name})`), form.element),
    canWrite ? h('p', { class: 'row' }, h('button', { type: 'submit', id: 'save' }, 'Save changes')) : null,
    status);

  show(label(kind, record),
    flash ? notice(flash) : null,
    h('p', { class: 'row' }, h('a', { href: `#/kinds/${kind.name}/records` }, `All ${kind.name} records`)),
    version,
    editForm,
    await fileSection(access, kind, record, (r, tag) => { record = r; etag = tag; showVersion(); }),
    deleteSection(access, kind, record, () => etag));
}

function probeList(file) {
  const rows = [
    ['Format', file.format], ['Codec', file.codec], ['Duration', `${formatSeconds(file.duration_seconds)} (${file.duration_seconds} s)`],
    ['Sample rate', file.sample_rate ? `${file.sample_rate} Hz` : '—'], ['Channels', file.channels ?? '—'],
    ['Bitrate', file.bitrate ? `${Math.round(file.bitrate / 1000)} kbit/s` : '—'], ['Size', formatBytes(file.size)],
    ['Type', file.content_type], ['Original name', file.original_name ?? '—'], ['SHA-256', file.sha256],
  ];
  return h('dl', { class: 'probe', id: 'probe' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', { dataset: { probe: k.toLowerCase().replace(/[^a-z]+/g, '-') } }, String(v ?? '—'))]));
}

/** Where the player and the download link point: the file itself, a signed link, or a blob. */
async function fileURL(kind, record) {
  const path = `/api/audio/${kind.name}/${record.id}/file`;
  if (kind.access.download === 'public') return path;
  if (kind.access.download === 'signed') {
    const { data } = await json('POST', `${path}/link?expires_in=3600`);
    return data.url;
  }
  // download: key — a player cannot send the header: fetch it whole (no seeking by range).
  const response = await call('GET', path);
  return URL.createObjectURL(await response.blob());
}

async function fileSection(access, kind, record, updated) {
  const section = h('section', { id: 'file', 'aria-labelledby': 'file-heading' }, h('h2', { id: 'file-heading' }, 'Audio file'));
  const current = h('div', { id: 'file-current' });
  section.append(current);

  async function showFile(r) {
    if (!r.file) { current.replaceChildren(h('p', {}, 'No file uploaded yet.')); return; }
    const parts = [probeList(r.file)];
    if (access.canPlay(kind)) {
      try {
        const url = await fileURL(kind, r);
        parts.unshift(
          h('audio', { controls: true, preload: 'metadata', src: url, id: 'player', 'aria-label': `Play ${r.file.original_name || 'the file'}` }),
          h('p', {}, h('a', { href: url, download: r.file.original_name || `${kind.name}-${r.id}.${r.file.format}`, id: 'download' }, `Download ${r.file.original_name || 'the file'}`),
            kind.access.download === 'signed' ? h('span', { class: 'meta' }, ' (a signed link, valid for an hour)') : null));
      } catch (error) { parts.unshift(problemBox(error)); }
    } else {
      parts.unshift(h('p', {}, `Playing needs a key with read:${kind.name}.`));
    }
    current.replaceChildren(...parts);
  }
  await showFile(record);

  if (!access.can('upload', kind.name)) {
    section.append(h('p', { class: 'meta' }, `Uploading needs a key with upload:${kind.name}.`));
    return section;
  }
  const picker = h('input', { type: 'file', id: 'file-input', accept: 'audio/*,.wav,.mp3,.flac,.ogg,.opus,.m4a,.aif,.aiff' });
  const progress = h('progress', { id: 'upload-progress', max: 100, value: 0, hidden: true, 'aria-label': 'Upload progress' });
  const progressText = h('p', { id: 'upload-progress-text', 'aria-live': 'polite' });
  const cancel = h('button', { type: 'button', class: 'secondary', id: 'upload-cancel', hidden: true }, 'Cancel upload');
  const result = h('div', { id: 'upload-result', 'aria-live': 'polite' });
  const drop = h('div', { class: 'dropzone', id: 'dropzone' },
    h('p', {}, 'Drop an audio file here, or '), h('label', { for: 'file-input' }, 'choose a file: '), picker);

  function start(file) {
    result.replaceChildren();
    progress.hidden = false; progress.value = 0; cancel.hidden = false; picker.disabled = true;
    const task = upload(`/api/audio/${kind.name}/${record.id}`, file, {
      onProgress: (loaded, total) => {
        const percent = total ? Math.floor((loaded / total) * 100) : 0;
        progress.value = percent;
        progressText.textContent = `${formatBytes(loaded)} of ${formatBytes(total)} (${percent} %)`;
      },
    });
    cancel.onclick = () => task.abort();
    task.promise.then(({ data, etag }) => {
      progress.value = 100;
      progressText.textContent = `${formatBytes(file.size)} of ${formatBytes(file.size)} (100 %) — stored and probed.`;
      result.replaceChildren(notice(`Uploaded ${file.name}: ${data.file.format}, ${data.file.duration_seconds} s.`));
      updated(data, etag);
      showFile(data);
    }, (error) => {
      if (error.cancelled) { progressText.textContent = 'Upload cancelled; nothing was stored.'; return; }
      const p = error.problem || {};
      const extra = p.probed_duration !== undefined
        ? h('p', { id: 'duration-mismatch' }, `The file lasts ${p.probed_duration} s; the record says ${p.declared_duration} s.`)
        : p.accepted_formats ? h('p', {}, `Accepted formats: ${p.accepted_formats.join(', ')}.`) : null;
      result.replaceChildren(problemBox(error, extra));
    }).finally(() => { cancel.hidden = true; picker.disabled = false; picker.value = ''; });
  }
  picker.addEventListener('change', () => { if (picker.files[0]) start(picker.files[0]); });
  drop.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault(); drop.classList.remove('over');
    const file = event.dataTransfer.files[0];
    if (file) start(file);
  });
  section.append(h('h3', {}, 'Upload'), drop, progress, h('p', { class: 'row' }, progressText, cancel), result);
  return section;
}

function deleteSection(access, kind, record, currentTag) {
  if (!access.can('delete', kind.name)) return h('p', { class: 'meta' }, `Deleting needs a key with delete:${kind.name}.`);
  const name = label(kind, record);
  const status = h('div', { 'aria-live': 'polite' });
  const dialog = h('dialog', { id: 'delete-dialog', 'aria-labelledby': 'delete-question' },
    h('p', { id: 'delete-question' }, `Delete ${name}? The record and its audio file are removed for good.`),
    h('p', { class: 'row' },
      h('button', {
        type: 'button', class: 'danger', id: 'delete-confirm',
        onclick: async () => {
          dialog.close();
          try {
            await call('DELETE', `/api/audio/${kind.name}/${record.id}`, { headers: { 'If-Match': currentTag() } });
            sessionStorage.setItem('audio-console-flash', `Deleted ${name}.`);
            go(`#/kinds/${kind.name}/records`);
          } catch (error) { status.replaceChildren(problemBox(error)); }
        },
      }, `Delete ${kind.name} ${record.id}`),
      h('button', { type: 'button', class: 'secondary', id: 'delete-cancel', onclick: () => dialog.close() }, 'Keep it')));
  return h('section', { 'aria-labelledby': 'delete-heading' }, h('h2', { id: 'delete-heading' }, 'Delete'),
    h('button', { type: 'button', class: 'danger', id: 'delete', onclick: () => { dialog.showModal(); document.getElementById('delete-cancel').focus(); } }, `Delete ${kind.name} ${record.id}…`),
    dialog, status);
}
