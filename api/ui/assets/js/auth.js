// The member token: a small form, kept in sessionStorage (see api.js).

import { h } from './dom.js';
import { setToken } from './api.js';

let forms = 0;

// tokenForm asks for a token and calls onSet once one is entered.
export function tokenForm({ onSet, label = 'Token', button = 'Use token' }) {
  const id = `token-${++forms}`;
  const input = h('input', { id, type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false', required: true, size: 16 });
  return h('form', {
    class: 'inline',
    onsubmit: (e) => {
      e.preventDefault();
      const v = input.value.trim();
      if (!v) return;
      setToken(v);
      onSet();
    },
  }, h('label', { for: id }, label), input, h('button', { type: 'submit', class: 'primary' }, button));
}

// tokenPanel explains why a page needs a token and asks for it; without
// any token configured it says so instead.
export function tokenPanel(cfg, onSet, why) {
  if (!cfg.tokens) {
    return h('div', { class: 'panel', 'data-token': 'unavailable' },
      h('p', null, why || 'This page shows member-level data, which needs a token.'),
      h('p', { class: 'note' }, 'This ixpd has no tokens configured (api.tokens in its configuration), so it cannot be shown here.'));
  }
  return h('div', { class: 'panel', 'data-token': 'needed' },
    h('p', null, why || 'This page shows member-level data, which needs a token.'),
    tokenForm({ onSet }),
    h('p', { class: 'note' }, 'The token is kept in this browser tab only (session storage) and sent as a bearer token to this ixpd.'));
}
