// The kinds (GET /api/kinds) and one kind's fields: everything here comes from the YAML files.
import { allKinds, get, kindNamed } from './api.js';
import { formatBytes, h, show } from './ui.js';

function accessText(kind) {
  return `read: ${kind.access.read}, download: ${kind.access.download}`;
}

/** A field's rules as short text: `1–100 characters, required`. */
export function constraintsText(field) {
  const r = [];
  const rules = field.type === 'list' ? (field.items || {}) : field;
  if (field.required) r.push('required');
  if (field.unique) r.push('unique');
  if (rules.min_length !== undefined || rules.max_length !== undefined) r.push(`${rules.min_length ?? 0}–${rules.max_length ?? '∞'} characters`);
  if (rules.min !== undefined || rules.max !== undefined) r.push(`${rules.min ?? '−∞'} to ${rules.max ?? '∞'}`);
  if (rules.pattern) r.push(`pattern ${rules.pattern}`);
  if (rules.values) r.push(`one of ${rules.values.join(', ')}`);
  if (rules.not_in_past) r.push('not in the past');
  if (field.type === 'list') {
    if (field.min_items !== undefined || field.max_items !== undefined) r.push(`${field.min_items ?? 0}–${field.max_items ?? '∞'} items`);
  }
  if (field.default !== null && field.default !== undefined && !(Array.isArray(field.default) && field.default.length === 0)) r.push(`default ${JSON.stringify(field.default)}`);
  return r.join('; ');
}

export function typeText(field) {
  return field.type === 'list' ? `list of ${field.items.type}` : field.type;
}

async function recordCount(access, kind) {
  if (!access.canRead(kind)) return `needs read:${kind.name}`;
  try {
    const { data } = await get(`/api/audio/${kind.name}?limit=1&count=exact`);
    return `${data.total} record${data.total === 1 ? '' : 's'}`;
  } catch (error) {
    return error.problem?.title || 'unavailable';
  }
}

export async function kindsPage(access) {
  const kinds = await allKinds(true);
  const counts = await Promise.all(kinds.map((k) => recordCount(access, k)));
  const cards = kinds.map((kind, i) => h('li', { class: 'card', dataset: { kind: kind.name } },
    h('h2', {}, h('a', { href: `#/kinds/${kind.name}/records` }, kind.name)),
    h('p', {}, kind.description || 'No description.'),
    h('p', { class: 'meta' },
      `${kind.fields.length} field${kind.fields.length === 1 ? '' : 's'} · `,
      h('span', { class: 'record-count' }, counts[i]), ' · ', accessText(kind)),
    h('p', { class: 'row' },
      h('a', { href: `#/kinds/${kind.name}` }, 'Fields'),
      access.canRead(kind) ? h('a', { href: `#/kinds/${kind.name}/records` }, 'Records') : null,
      access.can('write', kind.name) ? h('a', { href: `#/kinds/${kind.name}/new` }, `New ${kind.name}`) : null)));
  show('Kinds', h('p', {}, `${kinds.length} kinds, each defined by a YAML file on the server.`), h('ul', { class: 'cards', id: 'kinds' }, cards));
}

export async function kindPage(access, name) {
  const kind = await kindNamed(name);
  if (!kind) { show('Unknown kind', h('p', {}, `No kind is called ${name}.`)); return; }
  const rows = kind.fields.map((f) => h('tr', {},
    h('td', {}, h('code', {}, f.name)), h('td', {}, typeText(f)), h('td', {}, constraintsText(f)), h('td', {}, f.description || '')));
  const upload = kind.upload;
  show(`Kind ${kind.name}`,
    h('p', {}, kind.description || ''),
    kind.aliases.length ? h('p', { class: 'meta' }, `Also called: ${kind.aliases.join(', ')}`) : null,
    h('p', { class: 'meta' }, `Access: ${accessText(kind)}. Writes always need a key.`),
    h('p', { class: 'row' },
      access.canRead(kind) ? h('a', { class: 'button', href: `#/kinds/${kind.name}/records` }, 'Records') : h('span', {}, `Reading needs a key with read:${kind.name}.`),
      access.can('write', kind.name) ? h('a', { class: 'button secondary', href: `#/kinds/${kind.name}/new` }, `New ${kind.name}`) : null),
    h('h2', {}, 'Fields'),
    h('div', { class: 'table-wrap' }, h('table', { id: 'fields' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Constraints'), h('th', { scope: 'col' }, 'Description'))),
      h('tbody', {}, rows))),
    h('h2', {}, 'Files'),
    upload
      ? h('p', {}, `Formats: ${upload.formats.join(', ')}; at most ${upload.max_size ? formatBytes(upload.max_size) : 'the server limit'}`,
        upload.duration_field ? `; the file's duration must match ${upload.duration_field} within ${upload.duration_tolerance}` : '', '.')
      : h('p', {}, 'Any supported audio format, up to the server limit.'));
}
