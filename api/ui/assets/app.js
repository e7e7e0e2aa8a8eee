// ixpd dashboard: hash routes, one module per page. The shell reads
// /api/v1/ui/config first and asks for member-level data only with a
// token, so that no request is bound to fail.
//
// <main> carries data-state="loading" while a page loads and "ready" (or
// "error") once it is drawn, and data-page with the route.

import { get, token, setToken, takeRefused } from './js/api.js';
import { h, errorBox } from './js/dom.js';
import { setTimeZone } from './js/format.js';
import { mountCharts, disposeCharts } from './js/chart.js';
import { tokenForm, tokenPanel } from './js/auth.js';
import overview from './js/pages/overview.js';
import matrix from './js/pages/matrix.js';
import members from './js/pages/members.js';
import member from './js/pages/member.js';
import domestic from './js/pages/domestic.js';
import { index as rsIndex, neighbor as rsNeighbor, lookup as rsLookup } from './js/pages/routeserver.js';
import latency from './js/pages/latency.js';
import savings from './js/pages/savings.js';
import reports from './js/pages/reports.js';

// Each page: title, access ("public", "token", or "lg": a token unless
// the looking glass is public), the feature of /api/v1/ui/config it needs,
// and render({root, cfg, params, match, refresh}).
const ROUTES = [
  [/^\/$/, overview],
  [/^\/matrix$/, matrix],
  [/^\/members$/, members],
  [/^\/member\/(\d+)$/, member],
  [/^\/domestic$/, domestic],
  [/^\/routeserver$/, rsIndex],
  [/^\/routeserver\/neighbor\/([^/]+)(?:\/([a-z-]+))?$/, rsNeighbor],
  [/^\/routeserver\/lookup$/, rsLookup],
  [/^\/latency$/, latency],
  [/^\/savings$/, savings],
  [/^\/reports$/, reports],
];

const FEATURES = {
  traffic: 'flow analytics (no analytics store is configured)',
  route_server: 'the route server',
  latency: 'latency measurements (no latency targets are configured)',
};

const notFound = {
  title: 'Not found',
  access: 'public',
  render({ root }) {
    root.append(h('h1', null, 'Not found'), h('p', null, 'There is no such page. ', h('a', { href: '#/' }, 'Go to the overview.')));
  },
};

const main = document.getElementById('main');
let cfg = null;
let generation = 0;

function parseHash() {
  const raw = location.hash.replace(/^#/, '');
  if (!raw.startsWith('/')) return { path: '/', params: new URLSearchParams() };
  const q = raw.indexOf('?');
  let path = q < 0 ? raw : raw.slice(0, q);
  try {
    path = decodeURIComponent(path);
  } catch {
    // keep it as it is
  }
  if (path.length > 1) path = path.replace(/\/+$/, '');
  return { path, params: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

function findPage(path) {
  for (const [re, page] of ROUTES) {
    const m = path.match(re);
    if (m) return { page, match: m };
  }
  return { page: notFound, match: null };
}

function needsToken(page) {
  return page.access === 'token' || (page.access === 'lg' && !cfg.public_looking_glass);
}

function markNav(path) {
  for (const a of document.querySelectorAll('#nav a')) {
    const target = a.dataset.nav;
    const here = target === '/' ? path === '/' : path === target || path.startsWith(`${target}/`) || (target === '/members' && path.startsWith('/member/'));
    if (here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function renderTokenBox() {
  const box = document.getElementById('token-box');
  box.replaceChildren();
  if (!cfg || !cfg.tokens) return;
  if (token()) {
    box.append(h('span', { class: 'signed' }, 'Member token in use '),
      h('button', { type: 'button', onclick: () => { setToken(''); renderTokenBox(); show(false); } }, 'Forget token'));
  } else {
    box.append(tokenForm({ onSet: () => { renderTokenBox(); show(false); }, label: 'Member token' }));
  }
}

async function show(moveFocus) {
  const mine = ++generation;
  const { path, params } = parseHash();
  const { page, match } = findPage(path);
  markNav(path);
  document.title = `${page.title} · ${cfg.name || 'ixpd'}`;
  main.dataset.state = 'loading';
  main.dataset.page = path;
  main.setAttribute('aria-busy', 'true');
  disposeCharts();
  main.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
  const root = h('div', { class: 'page' });
  let state = 'ready';
  const refresh = () => { renderTokenBox(); show(false); };
  if (page.feature && !cfg.features[page.feature]) {
    root.append(h('h1', null, page.title), h('p', { class: 'panel', 'data-feature': 'off' }, `This ixpd does not serve ${FEATURES[page.feature] || page.feature}.`));
  } else if (needsToken(page) && !token()) {
    root.append(h('h1', null, page.title), tokenPanel(cfg, refresh));
  } else {
    try {
      await page.render({ root, cfg, params, match, refresh });
    } catch (err) {
      state = 'error';
      root.append(errorBox(err));
    }
    if (takeRefused()) {
      setToken('');
      renderTokenBox();
      root.prepend(tokenPanel(cfg, refresh, 'The token was refused. Enter a valid token to see member-level data.'));
    }
  }
  if (mine !== generation) return;
  main.replaceChildren(root);
  mountCharts(root);
  main.removeAttribute('aria-busy');
  main.dataset.state = state;
  if (moveFocus) main.focus({ preventScroll: false });
}

async function boot() {
  document.getElementById('skip').addEventListener('click', (e) => {
    e.preventDefault();
    main.focus();
  });
  try {
    cfg = await get('/api/v1/ui/config');
  } catch (err) {
    main.replaceChildren(errorBox(err));
    main.dataset.state = 'error';
    main.removeAttribute('aria-busy');
    return;
  }
  const zone = setTimeZone(cfg.time_zone);
  const tz = document.getElementById('time-zone');
  tz.textContent = zone;
  if (zone !== cfg.time_zone) tz.textContent += ` (this browser does not know ${cfg.time_zone})`;
  tz.dataset.figure = 'time_zone';
  tz.dataset.value = cfg.time_zone;
  document.getElementById('version').textContent = cfg.version || '';
  if (cfg.instance && cfg.instance.name) {
    const inst = document.getElementById('instance');
    inst.textContent = ` on ${cfg.instance.name} (${cfg.instance.role})`;
    inst.dataset.figure = 'instance';
    inst.dataset.value = cfg.instance.role;
    inst.dataset.source = '/api/v1/ui/config';
    inst.dataset.field = 'instance.role';
  }
  if (cfg.name) document.getElementById('ixp-name').textContent = cfg.name;
  renderTokenBox();
  window.addEventListener('hashchange', () => show(true));
  show(false);
}

boot();
