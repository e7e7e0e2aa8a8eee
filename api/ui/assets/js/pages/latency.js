// Latency: round-trip times to the probe targets over the exchange and
// over transit, and the gain of the exchange path per group. Public;
// members' peering-LAN targets show with a token.

import { get, url, token } from '../api.js';
import { h, append, kpi, kpis, table, switcher, figureAttrs } from '../dom.js';
import { periodRange, pickPeriod, periodText, fmtMs, fmtPct, fmtInt, fmtTime, timeZone } from '../format.js';
import { chartFigure, timeSeriesOption } from '../chart.js';

const MIN = 60 * 1000;
const DAY = 24 * 60 * MIN;
const LATENCY_PERIODS = {
  day: { name: 'day', label: 'Day', long: 'last 24 hours', span: DAY, step: '5m', stepMs: 5 * MIN, stepText: '5 minutes', stepAdj: '5-minute' },
  week: { name: 'week', label: 'Week', long: 'last 7 days', span: 7 * DAY, step: '1h', stepMs: 60 * MIN, stepText: '1 hour', stepAdj: '1-hour' },
  month: { name: 'month', label: 'Month', long: 'last 30 days', span: 30 * DAY, step: '6h', stepMs: 360 * MIN, stepText: '6 hours', stepAdj: '6-hour' },
};

const fmtMsShort = (v) => `${v} ms`;

function seriesChart(targets, r, { title, caption, pick, unit, format }) {
  const times = [...new Set(targets.flatMap((t) => (t.series || []).map((p) => p.time)))].sort();
  const byTarget = targets.map((t) => new Map((t.series || []).map((p) => [p.time, p])));
  const value = (p) => (p && p.received > 0 ? pick(p) : null);
  const lossValue = (p) => (p ? pick(p) : null);
  const val = unit === '%' ? lossValue : value;
  return chartFigure({
    title,
    caption,
    option: timeSeriesOption({
      series: targets.map((t, i) => ({ name: t.name, points: times.map((tm) => [tm, val(byTarget[i].get(tm))]) })),
      yName: unit,
      yFormat: unit === '%' ? (v) => `${v} %` : fmtMsShort,
      valueFormat: (v) => (v === null || v === undefined ? '—' : format(v)),
      r,
    }),
    table: table({
      caption: `${title}: ${caption}`,
      columns: [{ label: `Start (${timeZone()})`, rowHeader: true }, ...targets.map((t) => ({ label: `${t.name} (${unit})`, num: true }))],
      rows: times.map((tm) => [fmtTime(tm), ...byTarget.map((m) => {
        const v = val(m.get(tm));
        return { text: v === null ? '—' : format(v), attrs: { 'data-value': v === null ? 'null' : v } };
      })]),
      empty: 'No measurements in this period.',
    }),
  });
}

function statsTable(targets, source, r) {
  const f = (t, name, key, text) => ({
    text, num: true,
    attrs: figureAttrs({ name, value: t.stats[key], source, field: `targets[name=${t.name}].stats.${key}`, key: t.name }),
  });
  return h('div', { class: 'wide' }, table({
    caption: `Per target over the whole period, ${periodText(r)}: round-trip times in milliseconds, loss in percent`,
    columns: [{ label: 'Target' }, { label: 'Path' }, { label: 'Group' }, { label: 'Method' }, { label: 'Address' }, { label: 'Member' },
      { label: 'Min', num: true }, { label: 'Median', num: true }, { label: 'Mean', num: true }, { label: '95th percentile', num: true },
      { label: 'Max', num: true }, { label: 'Jitter', num: true }, { label: 'Loss', num: true }, { label: 'Probes sent', num: true }],
    rows: targets.map((t) => [
      t.name, t.path === 'ixp' ? 'exchange' : t.path, t.group || '', t.method, h('span', { class: 'mono' }, t.address),
      t.member_asn ? h('a', { href: `#/member/${t.member_asn}` }, `AS${t.member_asn}`) : '',
      { text: fmtMs(t.stats.min_ms), num: true },
      f(t, 'latency_median_ms', 'median_ms', fmtMs(t.stats.median_ms)),
      { text: fmtMs(t.stats.mean_ms), num: true },
      f(t, 'latency_p95_ms', 'p95_ms', fmtMs(t.stats.p95_ms)),
      { text: fmtMs(t.stats.max_ms), num: true },
      { text: fmtMs(t.stats.jitter_ms), num: true },
      f(t, 'latency_loss_pct', 'loss_pct', fmtPct(t.stats.loss_pct / 100)),
      { text: fmtInt(t.stats.sent), num: true },
    ]),
    empty: 'No latency targets.',
  }));
}

function groupsSection(groups, source, r) {
  const f = (g, name, key) => ({
    text: fmtMs(g[key] ?? null), num: true,
    attrs: figureAttrs({ name, value: g[key] ?? null, source, field: `groups[group=${g.group}].${key}`, key: g.group }),
  });
  const tbl = table({
    caption: `Median round-trip time per group over the exchange and over transit, and the gain (transit − exchange), in milliseconds, ${periodText(r)}`,
    columns: [{ label: 'Group', rowHeader: true }, { label: 'Via the exchange', num: true }, { label: 'Via transit', num: true }, { label: 'Gain', num: true }],
    rows: groups.map((g) => [g.group, f(g, 'latency_ixp_median_ms', 'ixp_median_ms'), f(g, 'latency_transit_median_ms', 'transit_median_ms'), f(g, 'latency_gain_ms', 'gain_ms')]),
    empty: 'No comparison groups configured.',
  });
  if (groups.length === 0) return tbl;
  return chartFigure({
    title: `Exchange path vs transit path, ${r.long}`,
    caption: `Median round-trip time in milliseconds per comparison group, ${periodText(r)}.`,
    open: true,
    option: {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => (v === null || v === undefined ? '—' : fmtMs(v)) },
      legend: { top: 0 },
      grid: { left: 64, right: 16, top: 32, bottom: 28 },
      xAxis: { type: 'category', data: groups.map((g) => g.group) },
      yAxis: { type: 'value', name: 'ms', min: 0 },
      series: [
        { name: 'Via the exchange', type: 'bar', data: groups.map((g) => g.ixp_median_ms ?? null) },
        { name: 'Via transit', type: 'bar', data: groups.map((g) => g.transit_median_ms ?? null) },
      ],
    },
    table: tbl,
  });
}

export default {
  title: 'Latency',
  access: 'public',
  feature: 'latency',
  async render({ root, cfg, params }) {
    const period = pickPeriod(params, Object.keys(LATENCY_PERIODS), 'day');
    const r = periodRange(LATENCY_PERIODS[period]);
    const source = url('/api/v1/latency', { from: r.from, to: r.to, step: r.step });
    const body = await get(source);
    const targets = body.targets || [];
    const groups = body.groups || [];
    const charted = targets.filter((t) => !t.member_asn);
    const best = groups.filter((g) => g.gain_ms !== null && g.gain_ms !== undefined);
    append(root, 
      h('h1', null, 'Latency'),
      h('p', { class: 'lead' }, 'Round-trip times measured by ixpd\'s prober, to targets reached over the exchange and over transit.'),
      switcher('Period', Object.entries(LATENCY_PERIODS).map(([id, p]) => ({ id, label: p.label, href: `#/latency?period=${id}` })), period),
      kpis([
        kpi({ label: 'Targets', text: fmtInt(targets.length), name: 'latency_targets', value: targets.length, source, field: 'count(targets)' }),
        ...best.slice(0, 4).map((g) => kpi({ label: `Gain, ${g.group}`, text: fmtMs(g.gain_ms), sub: 'transit median − exchange median',
          name: 'latency_group_gain_ms', value: g.gain_ms, source, field: `groups[group=${g.group}].gain_ms`, key: g.group })),
      ]));
    if (cfg.tokens && !token()) {
      append(root, h('p', { class: 'note' }, 'Members\' peering-LAN addresses are measured too; they show with a member token.'));
    }
    append(root, h('h2', null, 'Exchange path vs transit'), groupsSection(groups, source, r));
    if (charted.length > 0) {
      append(root, h('h2', null, 'Over time'), h('div', { class: 'charts' },
        seriesChart(charted, r, {
          title: `Median round-trip time, ${r.long}`,
          caption: `Milliseconds, median of each ${r.stepAdj} step per target, ${periodText(r)}.`,
          pick: (p) => p.median_ms, unit: 'ms', format: fmtMs,
        }),
        seriesChart(charted, r, {
          title: `Packet loss, ${r.long}`,
          caption: `Percent of probes without an answer in each ${r.stepAdj} step per target, ${periodText(r)}.`,
          pick: (p) => p.loss_pct, unit: '%', format: (v) => fmtPct(v / 100),
        })));
    }
    append(root, h('h2', null, 'Targets'), statsTable(targets, source, r));
  },
};
