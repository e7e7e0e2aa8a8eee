// Route server and looking glass: status, neighbors, each neighbor's
// received, accepted, filtered (with reasons), exported and not-exported
// routes, and prefix lookup. Needs a token unless the looking glass is
// public.

import { get, url, settle } from '../api.js';
import { h, append, kpi, kpis, table, switcher, errorBox, figureAttrs } from '../dom.js';
import { fmtTime, fmtDuration, fmtInt, timeZone } from '../format.js';

const KINDS = [
  ['received', 'Received'],
  ['accepted', 'Accepted'],
  ['filtered', 'Filtered'],
  ['exported', 'Exported'],
  ['not-exported', 'Not exported'],
];

// Rows drawn at most in one routes table; the count is always the full one.
const MAX_ROWS = 5000;

const neighborsSource = '/api/v1/routeserver/neighbors';

function stateBadge(state) {
  return h('span', { class: state === 'established' ? 'state up' : 'state down' }, state || 'unknown');
}

function isZeroTime(t) {
  return !t || t.startsWith('0001-01-01');
}

// neighborTable lists neighbors with their session state and route counts.
export function neighborTable(ns, caption) {
  const fig = (n, name, value, field) => figureAttrs({ name, value, source: neighborsSource, field: `neighbors[id=${n.id}].${field}`, key: n.id });
  const count = (n, kind) => ({
    text: h('a', { href: `#/routeserver/neighbor/${encodeURIComponent(n.id)}/${kind}` }, fmtInt(n.routes[kind])),
    num: true,
    attrs: fig(n, `neighbor_${kind}`, n.routes[kind], `routes.${kind}`),
  });
  return h('div', { class: 'wide' }, table({
    caption,
    columns: [{ label: 'Neighbor' }, { label: 'ASN', num: true }, { label: 'Description' }, { label: 'State' }, { label: 'Up for', num: true },
      { label: 'Received', num: true }, { label: 'Accepted', num: true }, { label: 'Filtered', num: true }, { label: 'Exported', num: true },
      { label: 'Max prefixes', num: true }, { label: 'Last error' }],
    rows: ns.map((n) => [
      h('a', { href: `#/routeserver/neighbor/${encodeURIComponent(n.id)}/accepted`, class: 'mono' }, n.id),
      { text: h('a', { href: `#/member/${n.asn}` }, `AS${n.asn}`), num: true },
      n.description || '',
      { text: stateBadge(n.state), attrs: fig(n, 'neighbor_state', n.state, 'state') },
      { text: n.state === 'established' ? fmtDuration(n.uptime_seconds) : '—', num: true },
      count(n, 'received'), count(n, 'accepted'), count(n, 'filtered'), count(n, 'exported'),
      { text: n.max_prefix ? fmtInt(n.max_prefix) : '—', num: true },
      n.last_error || '',
    ]),
    empty: 'No neighbors configured.',
  }));
}

function reasons(rs) {
  return (rs || []).map((r) => h('span', { class: 'reason', 'data-code': r.code, title: `code ${r.code}` }, r.name));
}

function list(xs) {
  return xs && xs.length ? h('span', { class: 'mono' }, xs.join(' ')) : '';
}

// routesTable lists routes; extra columns depend on what they carry.
function routesTable(routes, { caption, withNeighbor }) {
  const shown = routes.slice(0, MAX_ROWS);
  const hasReasons = routes.some((r) => r.reject_reasons && r.reject_reasons.length);
  const hasNoExport = routes.some((r) => r.noexport_reason);
  const hasState = routes.some((r) => r.state);
  const columns = [];
  if (withNeighbor) columns.push({ label: 'Neighbor' }, { label: 'ASN', num: true });
  columns.push({ label: 'Prefix' }, { label: 'Next hop' }, { label: 'AS path' }, { label: 'Origin' });
  if (hasState) columns.push({ label: 'State' });
  if (hasReasons) columns.push({ label: 'Reject reasons' });
  if (hasNoExport) columns.push({ label: 'Why not exported' });
  columns.push({ label: 'Communities' }, { label: 'Large communities' }, { label: 'Age', num: true });
  const rows = shown.map((r) => {
    const row = [];
    if (withNeighbor) {
      row.push(h('a', { href: `#/routeserver/neighbor/${encodeURIComponent(r.neighbor)}/received`, class: 'mono' }, r.neighbor),
        { text: `AS${r.neighbor_asn}`, num: true });
    }
    row.push(h('span', { class: 'mono' }, r.prefix), h('span', { class: 'mono' }, r.next_hop), list((r.as_path || []).map(String)), r.origin || '');
    if (hasState) row.push(r.best ? `${r.state}, best` : r.state || '');
    if (hasReasons) row.push(h('span', { 'data-prefix': r.prefix }, reasons(r.reject_reasons)));
    if (hasNoExport) row.push(r.noexport_reason || '');
    row.push(list(r.communities), list(r.large_communities), { text: fmtDuration(r.age_seconds), num: true });
    return row;
  });
  const out = [h('div', { class: 'wide' }, table({ caption, columns, rows, empty: 'No routes.' }))];
  if (routes.length > shown.length) out.push(h('p', { class: 'note' }, `Showing the first ${fmtInt(shown.length)} of ${fmtInt(routes.length)} routes; look a prefix up for the rest.`));
  return out;
}

function lookupForm(value) {
  const input = h('input', { id: 'lookup-prefix', name: 'prefix', value: value || '', placeholder: '192.0.2.0/24 or 2001:db8::1', size: 28, autocomplete: 'off' });
  return h('form', {
    class: 'inline',
    role: 'search',
    onsubmit: (e) => {
      e.preventDefault();
      const v = input.value.trim();
      if (v) location.hash = `#/routeserver/lookup?prefix=${encodeURIComponent(v)}`;
    },
  }, h('label', { for: 'lookup-prefix' }, 'Look up a prefix or address'), input, h('button', { type: 'submit', class: 'primary' }, 'Look up'));
}

function lgNav(current) {
  return switcher('Looking glass', [
    { id: 'index', label: 'Status and neighbors', href: '#/routeserver' },
    { id: 'lookup', label: 'Prefix lookup', href: '#/routeserver/lookup' },
  ], current);
}

export const index = {
  title: 'Route server',
  access: 'lg',
  feature: 'route_server',
  async render({ root }) {
    const res = await settle({ status: get('/api/v1/routeserver/status'), neighbors: get(neighborsSource) });
    append(root, h('h1', null, 'Route server'), lgNav('index'), lookupForm(''));
    if (res.status.ok) {
      const s = res.status.value;
      const src = '/api/v1/routeserver/status';
      const running = !isZeroTime(s.started);
      append(root, h('h2', null, 'Status'), kpis([
        kpi({ label: 'Route server ASN', text: `AS${s.asn}`, name: 'rs_asn', value: s.asn, source: src, field: 'asn' }),
        kpi({ label: 'Router ID', text: s.router_id, name: 'rs_router_id', value: s.router_id, source: src, field: 'router_id' }),
        kpi({ label: 'Running since', text: running ? fmtTime(s.started) : 'not running', name: 'rs_started', value: s.started, source: src, field: 'started', sub: running ? timeZone() : null }),
        kpi({ label: 'Last reconfigured', text: isZeroTime(s.reconfigured) ? '—' : fmtTime(s.reconfigured), name: 'rs_reconfigured', value: s.reconfigured, source: src, field: 'reconfigured' }),
        kpi({ label: 'Graceful shutdown (RFC 8326)', text: s.graceful_shutdown ? 'on' : 'off', name: 'rs_graceful_shutdown', value: s.graceful_shutdown, source: src, field: 'graceful_shutdown' }),
      ]));
    } else {
      append(root, errorBox(res.status.error));
    }
    append(root, h('h2', null, 'Neighbors'));
    if (!res.neighbors.ok) {
      append(root, errorBox(res.neighbors.error));
      return;
    }
    const ns = res.neighbors.value.neighbors || [];
    const up = ns.filter((n) => n.state === 'established').length;
    append(root, kpis([
      kpi({ label: 'Sessions established', text: `${up} of ${ns.length}`, name: 'neighbors_established', value: up, source: neighborsSource, field: 'count(neighbors[state=established])' }),
      kpi({ label: 'Neighbors', text: String(ns.length), name: 'neighbors_total', value: ns.length, source: neighborsSource, field: 'count(neighbors)' }),
    ]), neighborTable(ns, 'Route-server neighbors: session state and route counts; counts link to the routes'));
  },
};

export const neighbor = {
  title: 'Neighbor routes',
  access: 'lg',
  feature: 'route_server',
  async render({ root, match }) {
    const id = match[1];
    const kind = KINDS.some(([k]) => k === match[2]) ? match[2] : 'accepted';
    const source = `/api/v1/routeserver/neighbors/${encodeURIComponent(id)}/routes/${kind}`;
    const res = await settle({ neighbors: get(neighborsSource), routes: get(source) });
    const n = res.neighbors.ok ? (res.neighbors.value.neighbors || []).find((x) => x.id === id) : null;
    append(root, h('h1', null, n ? `${n.description || `AS${n.asn}`} (${id})` : `Neighbor ${id}`), lgNav(''));
    if (n) {
      append(root, h('p', { class: 'lead' }, h('a', { href: `#/member/${n.asn}` }, `AS${n.asn}`), ' · session ', stateBadge(n.state),
        n.state === 'established' ? ` for ${fmtDuration(n.uptime_seconds)}` : '', n.last_error ? ` · last error: ${n.last_error}` : ''));
    }
    append(root, switcher('Routes', KINDS.map(([k, label]) => ({
      id: k,
      label: n && n.routes && n.routes[k] !== undefined ? `${label} (${fmtInt(n.routes[k])})` : label,
      href: `#/routeserver/neighbor/${encodeURIComponent(id)}/${k}`,
    })), kind));
    if (!res.routes.ok) {
      append(root, errorBox(res.routes.error));
      return;
    }
    const routes = res.routes.value.routes || [];
    const label = KINDS.find(([k]) => k === kind)[1].toLowerCase();
    const explain = {
      received: 'Every route the neighbor sent, accepted or filtered.',
      accepted: 'Routes that passed the import filters.',
      filtered: 'Routes that failed an import filter, kept with the reasons (Euro-IX large communities RS:1101:code) and never exported.',
      exported: 'Routes the route server sends to this neighbor.',
      'not-exported': 'Other members\' accepted routes that are not sent to this neighbor, and why.',
    }[kind];
    append(root, 
      h('p', null, explain),
      kpis([kpi({ label: `Routes ${label}`, text: fmtInt(routes.length), name: 'route_count', value: routes.length, source, field: 'count(routes)' })]),
      routesTable(routes, { caption: `Routes ${label} for ${id}` }));
  },
};

export const lookup = {
  title: 'Prefix lookup',
  access: 'lg',
  feature: 'route_server',
  async render({ root, params }) {
    const prefix = (params.get('prefix') || '').trim();
    append(root, h('h1', null, 'Prefix lookup'), lgNav('lookup'), lookupForm(prefix));
    if (!prefix) {
      append(root, h('p', { class: 'note' }, 'Give a prefix (the longest match is shown) or an address.'));
      return;
    }
    if (!/^[0-9A-Fa-f:.]+(\/\d{1,3})?$/.test(prefix)) {
      append(root, errorBox(new Error(`"${prefix}" is not a prefix or an address.`)));
      return;
    }
    const source = url('/api/v1/routeserver/lookup', { prefix });
    const body = await get(source);
    const routes = body.routes || [];
    append(root, 
      kpis([
        kpi({ label: 'Matched prefix', text: body.prefix || 'none', name: 'lookup_prefix', value: body.prefix ?? null, source, field: 'prefix' }),
        kpi({ label: 'Paths', text: fmtInt(routes.length), name: 'lookup_paths', value: routes.length, source, field: 'count(routes)' }),
      ]),
      routesTable(routes, { caption: `Every path for ${body.prefix || body.query}, with its neighbor and state`, withNeighbor: true }));
  },
};
