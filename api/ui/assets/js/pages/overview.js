// Overview: current rate, peak, 95th percentile, average and volume with
// the IPv4/IPv6 split, and day, week, month and year graphs of the average
// rate and the 5-minute maximum.

import { get, url, settle } from '../api.js';
import { h, append, kpi, kpis, table, switcher, errorBox, figureAttrs } from '../dom.js';
import { PERIODS, periodRange, pickPeriod, periodText, fmtBps, fmtBytes, fmtTime, fmtInt, timeZone } from '../format.js';
import { chartFigure, timeSeriesOption } from '../chart.js';

const FAMILY_NAMES = { 4: 'IPv4', 6: 'IPv6', 0: 'Other' };

function familyName(f) {
  return FAMILY_NAMES[f] || `Family ${f}`;
}

function familyPrefix(f) {
  return f === 4 ? 'ipv4' : f === 6 ? 'ipv6' : `family${f}`;
}

function summary(s, source, r) {
  const fig = (name, field = name) => ({ name, value: s[field], source, field });
  const out = [];
  out.push(kpis([
    kpi({ label: 'Current rate', text: s.current_bps === null ? 'no traffic' : fmtBps(s.current_bps), ...fig('current_bps'),
      sub: h('span', figureAttrs({ name: 'current_at', value: s.current_at, source, field: 'current_at' }), `5-minute bin from ${fmtTime(s.current_at)}`) }),
    kpi({ label: 'Peak', text: fmtBps(s.peak_bps), ...fig('peak_bps'),
      sub: s.peak_at ? h('span', figureAttrs({ name: 'peak_at', value: s.peak_at, source, field: 'peak_at' }), `at ${fmtTime(s.peak_at)}`) : null }),
    kpi({ label: '95th percentile', text: fmtBps(s.p95_bps), ...fig('p95_bps'), sub: 'of the 5-minute rates' }),
    kpi({ label: 'Average', text: fmtBps(s.avg_bps), ...fig('avg_bps') }),
    kpi({ label: 'Volume', text: fmtBytes(s.volume_bytes), ...fig('volume_bytes') }),
  ]));
  out.push(h('p', { class: 'note' },
    `Over ${r.long} ${periodText(r)}: `,
    h('span', figureAttrs({ name: 'bins', value: s.bins, source, field: 'bins' }), fmtInt(s.bins)),
    ' 5-minute bins, ',
    h('span', figureAttrs({ name: 'missing_bins', value: s.missing_bins, source, field: 'missing_bins' }), fmtInt(s.missing_bins)),
    ' without traffic (counted as zero). The 95th percentile drops the highest 5 % of the bins.'));
  const fams = s.families || [];
  const cell = (f, key, text) => ({
    text,
    attrs: figureAttrs({ name: `${familyPrefix(f.family)}_${key}`, value: f[key] ?? null, source, field: `families[family=${f.family}].${key}` }),
  });
  out.push(table({
    caption: `By address family, ${r.long} (rates in bit/s, volume in bytes, times in ${timeZone()})`,
    columns: [{ label: 'Family', rowHeader: true }, { label: 'Peak', num: true }, { label: 'Peak at' }, { label: '95th percentile', num: true },
      { label: 'Average', num: true }, { label: 'Volume', num: true }],
    rows: fams.map((f) => [
      familyName(f.family),
      cell(f, 'peak_bps', fmtBps(f.peak_bps)),
      cell(f, 'peak_at', f.peak_bps > 0 ? fmtTime(f.peak_at) : '—'),
      cell(f, 'p95_bps', fmtBps(f.p95_bps)),
      cell(f, 'avg_bps', fmtBps(f.avg_bps)),
      cell(f, 'volume_bytes', fmtBytes(f.volume_bytes)),
    ]),
  }));
  return out;
}

function graph(body, g) {
  const r = g.r;
  const s = (body.series && body.series[0]) || { points: [] };
  const withMax = Array.isArray(s.max_points);
  const series = [{ name: withMax ? `Average per ${r.stepText}` : '5-minute rate', points: s.points, area: true }];
  if (withMax) series.push({ name: '5-minute max', points: s.max_points });
  const title = `Traffic, ${r.long}`;
  const caption = withMax
    ? `Bits per second across the exchange: average over each ${r.stepAdj} step and the highest 5-minute rate inside it, ${periodText(r)}.`
    : `Bits per second across the exchange, each 5-minute bin, ${periodText(r)}.`;
  const columns = [{ label: `Start (${timeZone()})`, rowHeader: true }, { label: withMax ? 'Average (bit/s)' : 'Rate (bit/s)', num: true }];
  if (withMax) columns.push({ label: '5-minute max (bit/s)', num: true });
  const rows = s.points.map(([t, v], i) => {
    const row = [fmtTime(t), { text: fmtBps(v), attrs: { 'data-value': v } }];
    if (withMax) row.push({ text: fmtBps(s.max_points[i][1]), attrs: { 'data-value': s.max_points[i][1] } });
    return row;
  });
  return chartFigure({
    title,
    caption,
    option: timeSeriesOption({ series, r }),
    table: table({ caption: `${title}: ${caption}`, columns, rows }),
  });
}

export default {
  title: 'Overview',
  access: 'public',
  feature: 'traffic',
  async render({ root, cfg, params }) {
    const period = pickPeriod(params, Object.keys(PERIODS), 'day');
    const sr = periodRange(period);
    const sumURL = url('/api/v1/traffic/summary', { from: sr.from, to: sr.to });
    const graphs = Object.keys(PERIODS).map((name) => {
      const r = periodRange(name);
      return { r, source: url('/api/v1/traffic', { from: r.from, to: r.to, step: r.step }) };
    });
    const res = await settle({ sum: get(sumURL), ...Object.fromEntries(graphs.map((g) => [g.r.name, get(g.source)])) });
    append(root, 
      h('h1', null, `${cfg.name || 'Exchange'} traffic`),
      h('p', { class: 'lead' }, 'Traffic across the exchange (samples between two different members), in bits per second.'),
      h('h2', null, `Summary, ${sr.long}`),
      switcher('Summary period', Object.entries(PERIODS).map(([id, p]) => ({ id, label: p.label, href: `#/?period=${id}` })), period));
    append(root, res.sum.ok ? summary(res.sum.value, sumURL, sr) : errorBox(res.sum.error));
    append(root, h('h2', null, 'Graphs'));
    const grid = h('div', { class: 'charts' });
    for (const g of graphs) {
      const r = res[g.r.name];
      grid.append(r.ok ? graph(r.value, g) : errorBox(r.error));
    }
    append(root, grid);
  },
};
