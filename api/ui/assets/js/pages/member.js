// A member's page: traffic sent and received across the exchange, its
// peers, local share, route-server sessions and latency. Member-level:
// needs a token.

import { get, url, settle } from '../api.js';
import { h, append, kpi, kpis, table, switcher, errorBox, figureAttrs } from '../dom.js';
import { periodRange, pickPeriod, periodText, fmtBps, fmtBytes, fmtPct, fmtTime, fmtMs, timeZone } from '../format.js';
import { chartFigure, timeSeriesOption } from '../chart.js';
import { memberNames, asLabel, asLink } from '../names.js';
import { neighborTable } from './routeserver.js';

const MIN = 60 * 1000;
const DAY = 24 * 60 * MIN;
const MEMBER_PERIODS = {
  day: { name: 'day', label: 'Day', long: 'last 24 hours', span: DAY, step: '15m', stepMs: 15 * MIN, stepText: '15 minutes', stepAdj: '15-minute' },
  week: { name: 'week', label: 'Week', long: 'last 7 days', span: 7 * DAY, step: '2h', stepMs: 120 * MIN, stepText: '2 hours', stepAdj: '2-hour' },
};

// sumSeries adds the points of the series that pass keep, step by step.
function sumSeries(series, keep) {
  let out = null;
  for (const s of series) {
    if (!keep(s)) continue;
    if (!out) out = s.points.map(([t]) => [t, 0]);
    s.points.forEach(([, v], i) => {
      out[i][1] += v;
    });
  }
  return out || [];
}

function trafficChart(body, asn, r) {
  const series = body.series || [];
  const out = sumSeries(series, (s) => s.src_asn === asn);
  const inn = sumSeries(series, (s) => s.dst_asn === asn);
  const times = (out.length ? out : inn).map(([t]) => t);
  const title = `Traffic of AS${asn}, ${r.long}`;
  const caption = `Bits per second across the exchange, sent by and sent to AS${asn}, average over each ${r.stepAdj} step, ${periodText(r)}.`;
  return chartFigure({
    title,
    caption,
    option: timeSeriesOption({ series: [{ name: 'Sent', points: out, area: true }, { name: 'Received', points: inn, area: true }], r }),
    table: table({
      caption: `${title}: ${caption}`,
      columns: [{ label: `Start (${timeZone()})`, rowHeader: true }, { label: 'Sent (bit/s)', num: true }, { label: 'Received (bit/s)', num: true }],
      rows: times.map((t, i) => [fmtTime(t),
        { text: fmtBps(out[i] ? out[i][1] : 0), attrs: { 'data-value': out[i] ? out[i][1] : 0 } },
        { text: fmtBps(inn[i] ? inn[i][1] : 0), attrs: { 'data-value': inn[i] ? inn[i][1] : 0 } }]),
      empty: 'No traffic across the exchange in this period.',
    }),
  });
}

function peers(body, asn, names, source, r) {
  const by = new Map();
  for (const p of body.pairs || []) {
    if (p.src_asn === asn) {
      const e = by.get(p.dst_asn) || { sent: 0, received: 0 };
      e.sent += p.bytes;
      by.set(p.dst_asn, e);
    }
    if (p.dst_asn === asn) {
      const e = by.get(p.src_asn) || { sent: 0, received: 0 };
      e.received += p.bytes;
      by.set(p.src_asn, e);
    }
  }
  const rows = [...by.entries()].sort((a, b) => (b[1].sent + b[1].received) - (a[1].sent + a[1].received));
  let sent = 0;
  let received = 0;
  for (const [, e] of rows) {
    sent += e.sent;
    received += e.received;
  }
  return [
    kpis([
      kpi({ label: `Sent, ${r.long}`, text: fmtBytes(sent), name: 'member_sent_bytes', value: sent, source, field: `sum(pairs[src_asn=${asn}].bytes)` }),
      kpi({ label: `Received, ${r.long}`, text: fmtBytes(received), name: 'member_received_bytes', value: received, source, field: `sum(pairs[dst_asn=${asn}].bytes)` }),
      kpi({ label: 'Peers with traffic', text: String(rows.length), name: 'member_peers', value: rows.length, source, field: `count(distinct peers of ${asn})` }),
    ]),
    table({
      caption: `Traffic with each peer across the exchange, ${periodText(r)}`,
      columns: [{ label: 'Peer' }, { label: 'Sent to', num: true }, { label: 'Received from', num: true }],
      rows: rows.map(([peer, e]) => [asLink(peer, names),
        { text: fmtBytes(e.sent), attrs: figureAttrs({ name: 'peer_sent_bytes', value: e.sent, source, field: `pairs[src_asn=${asn},dst_asn=${peer}].bytes`, key: peer }) },
        { text: fmtBytes(e.received), attrs: figureAttrs({ name: 'peer_received_bytes', value: e.received, source, field: `pairs[src_asn=${peer},dst_asn=${asn}].bytes`, key: peer }) }]),
      empty: 'No traffic with other members in this period.',
    }),
  ];
}

function domesticShare(body, asn, source) {
  const m = (body.members || []).find((x) => x.asn === asn);
  if (!m) return h('p', { class: 'note' }, 'This member is not in the members file of this ixpd.');
  const f = (name, field, value, text) => kpi({ label: name, text, name: `member_${field}`, value, source, field: `members[asn=${asn}].${field}` });
  return [
    kpis([
      f('Local share', 'local_share', m.local_share, fmtPct(m.local_share)),
      f('Domestic via the exchange', 'via_ixp_bytes', m.via_ixp_bytes, fmtBytes(m.via_ixp_bytes)),
      f('Domestic via transit', 'via_transit_bytes', m.via_transit_bytes, fmtBytes(m.via_transit_bytes)),
    ]),
    m.note ? h('p', { class: 'note' }, m.note) : null,
  ];
}

function latencyTable(body, asn, source) {
  const ts = (body.targets || []).filter((t) => t.member_asn === asn);
  return table({
    caption: 'Latency to this member\'s peering-LAN addresses (milliseconds, loss in percent)',
    columns: [{ label: 'Target' }, { label: 'Address' }, { label: 'Method' }, { label: 'Median', num: true }, { label: '95th percentile', num: true },
      { label: 'Jitter', num: true }, { label: 'Loss', num: true }],
    rows: ts.map((t) => [t.name, h('span', { class: 'mono' }, t.address), t.method,
      { text: fmtMs(t.stats.median_ms), attrs: figureAttrs({ name: 'latency_median_ms', value: t.stats.median_ms, source, key: t.name, field: `targets[name=${t.name}].stats.median_ms` }) },
      fmtMs(t.stats.p95_ms), fmtMs(t.stats.jitter_ms), fmtPct(t.stats.loss_pct / 100)]),
    empty: 'No latency targets for this member.',
  });
}

export default {
  title: 'Member',
  access: 'token',
  async render({ root, cfg, params, match }) {
    const asn = Number(match[1]);
    const period = pickPeriod(params, Object.keys(MEMBER_PERIODS), 'day');
    const r = periodRange(MEMBER_PERIODS[period]);
    const sources = {
      series: url('/api/v1/traffic', { from: r.from, to: r.to, step: r.step, group_by: 'pair' }),
      matrix: url('/api/v1/traffic/matrix', { from: r.from, to: r.to }),
      domestic: url('/api/v1/domestic', { from: r.from, to: r.to }),
      latency: url('/api/v1/latency', { from: r.from, to: r.to, step: r.step }),
    };
    const req = { names: memberNames(cfg) };
    if (cfg.features.traffic) {
      req.series = get(sources.series);
      req.matrix = get(sources.matrix);
      req.domestic = get(sources.domestic);
    }
    if (cfg.features.route_server) req.neighbors = get('/api/v1/routeserver/neighbors');
    if (cfg.features.latency) req.latency = get(sources.latency);
    const res = await settle(req);
    const names = res.names.ok ? res.names.value : new Map();
    append(root, 
      h('h1', null, asLabel(asn, names)),
      switcher('Period', Object.entries(MEMBER_PERIODS).map(([id, p]) => ({ id, label: p.label, href: `#/member/${asn}?period=${id}` })), period));
    if (cfg.features.traffic) {
      append(root, h('h2', null, 'Traffic across the exchange'));
      append(root, res.series.ok ? h('div', { class: 'charts' }, trafficChart(res.series.value, asn, r)) : errorBox(res.series.error));
      append(root, h('h2', null, 'Peers'));
      append(root, res.matrix.ok ? peers(res.matrix.value, asn, names, sources.matrix, r) : errorBox(res.matrix.error));
      append(root, h('h2', null, 'Domestic traffic'),
        h('p', { class: 'note' }, `Domestic traffic seen by the member's edge exporter, ${periodText(r)}: the local share is the part that went across the exchange.`));
      append(root, res.domestic.ok ? domesticShare(res.domestic.value, asn, sources.domestic) : errorBox(res.domestic.error));
    }
    if (cfg.features.route_server) {
      append(root, h('h2', null, 'Route-server sessions'));
      if (res.neighbors.ok) {
        const ns = (res.neighbors.value.neighbors || []).filter((n) => n.asn === asn);
        append(root, neighborTable(ns, `Sessions of AS${asn} with the route server`));
      } else {
        append(root, errorBox(res.neighbors.error));
      }
    }
    if (cfg.features.latency) {
      append(root, h('h2', null, 'Latency'));
      append(root, res.latency.ok ? latencyTable(res.latency.value, asn, sources.latency) : errorBox(res.latency.error));
    }
  },
};
