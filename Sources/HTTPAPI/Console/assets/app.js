// The console's entry: a hash router (#/kinds/podcast/records?…), so every view is a URL that
// can be bookmarked, shared and reloaded; the header shows the key and what it may do.
import { ApiError, forgetWho, storeKey, storedKey, whoami } from './api.js';
import { currentRoute, go, h, problemBox, show } from './ui.js';
import { kindPage, kindsPage } from './kinds.js';
import { recordsPage } from './records.js';
import { newRecordPage, recordPage } from './record.js';
import { auditPage, keysPage } from './admin.js';

async function header(access) {
  const nav = document.getElementById('nav');
  nav.replaceChildren(...[
    h('a', { href: '#/kinds' }, 'Kinds'),
    access.admin ? h('a', { href: '#/keys' }, 'Keys') : null,
    access.admin ? h('a', { href: '#/audit' }, 'Audit') : null,
  ].filter(Boolean));
  const session = document.getElementById('session');
  if (access.signedIn) {
    session.replaceChildren(
      h('span', { id: 'whoami' }, 'Key ', h('strong', {}, access.key.name), ': ', access.key.scopes.join(', ')),
      h('button', { type: 'button', class: 'secondary', id: 'sign-out', onclick: signOut }, 'Sign out'),
    );
  } else {
    session.replaceChildren(h('span', { id: 'whoami' }, 'Not signed in: public kinds only'), h('a', { class: 'button', href: '#/signin', id: 'sign-in-link' }, 'Sign in'));
  }
}

function signOut() {
  storeKey(null);
  forgetWho();
  go('#/kinds');
}

function signInPage(access) {
  const input = h('input', { id: 'api-key', name: 'key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false', pattern: 'afs_[A-Za-z0-9_\\-]{43}', size: 50 });
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', {
    id: 'sign-in-form',
    onsubmit: async (event) => {
      event.preventDefault();
      storeKey(input.value.trim());
      try {
        const who = await whoami(true);
        await header(who);
        location.hash = '#/kinds';
      } catch (error) {
        storeKey(null);
        forgetWho();
        status.replaceChildren(problemBox(error));
      }
    },
  },
  h('div', { class: 'field' },
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h('p', { class: 'hint' }, 'afs_ and 43 more characters. Kept in this tab only (sessionStorage) and sent as Authorization: Bearer.')),
  h('button', { type: 'submit' }, 'Sign in'),
  status);
  show('Sign in', access.signedIn ? h('p', {}, `Signed in as ${access.key.name}. Another key replaces it.`) : null, form);
  input.focus();
}

/** Renders the page for the current URL. Navigations are rendered one after another, so a slow
 * page can never paint over the page of a later navigation. */
let rendering = Promise.resolve();
function route() {
  rendering = rendering.then(render, render);
  return rendering;
}

async function render() {
  const { parts, params } = currentRoute();
  let access;
  try {
    access = await whoami();
  } catch (error) {
    // A stored key that stopped working (revoked, expired): forget it and carry on without one.
    if (error instanceof ApiError && error.status === 401 && storedKey()) {
      storeKey(null);
      forgetWho();
      access = await whoami();
      await header(access);
      show('Signed out', problemBox(error), h('p', {}, h('a', { href: '#/signin' }, 'Sign in again')));
      return;
    }
    show('Server unavailable', problemBox(error));
    return;
  }
  await header(access);
  try {
    if (parts.length === 0 || (parts[0] === 'kinds' && parts.length === 1)) return await kindsPage(access);
    if (parts[0] === 'signin') return signInPage(access);
    if (parts[0] === 'keys') return await keysPage(access);
    if (parts[0] === 'audit') return await auditPage(access, params);
    if (parts[0] === 'kinds' && parts.length === 2) return await kindPage(access, parts[1]);
    if (parts[0] === 'kinds' && parts[2] === 'new') return await newRecordPage(access, parts[1]);
    if (parts[0] === 'kinds' && parts[2] === 'records' && parts.length === 3) return await recordsPage(access, parts[1], params);
    if (parts[0] === 'kinds' && parts[2] === 'records' && parts.length === 4) return await recordPage(access, parts[1], parts[3]);
    show('Not found', h('p', {}, 'The console has no page at this address. '), h('a', { href: '#/kinds' }, 'Go to the kinds'));
  } catch (error) {
    show('Something went wrong', problemBox(error));
  }
}

window.addEventListener('hashchange', route);
route();
